"""Scrapy settings for newsspider: one place, a short reason each. Override with ``-s`` or the
``newsspider`` command's options."""

from newsspider.archive import DEFAULT_OUTPUT
from newsspider.article import DEFAULT_CHANNEL

BOT_NAME = "newsspider"
SPIDER_MODULES = ["newsspider.crawl.spiders"]
NEWSPIDER_MODULE = "newsspider.crawl.spiders"

# --- politeness for live crawls (replayed requests skip delays and throttling) ---
# An honest User-Agent: the project, its version, and (NEWSSPIDER_CONTACT) how to reach the person
# running it, e.g. -s NEWSSPIDER_CONTACT=me@example.org; the add-on sets it (newsspider/crawl/
# useragent.py) unless USER_AGENT is set here or with -s
NEWSSPIDER_CONTACT = None
ROBOTSTXT_OBEY = True  # Sina's robots.txt allows article pages; we honour it anyway
AUTOTHROTTLE_ENABLED = True  # back off when Sina slows down
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4  # a news site, not a load test
# every callback yields at most one item (an article) or a page of requests (the roll list);
# Scrapy's default of 100 starts 100 worker tasks per callback, which cost more than the parse
CONCURRENT_ITEMS = 1
DOWNLOAD_DELAY = 0.25
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024  # Sina article pages are < 1 MB; images have their own cap
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3  # timeouts, resets, 5xx and 429 are what a news site really produces
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
COOKIES_ENABLED = False  # articles need no session; fewer moving parts
TELNETCONSOLE_ENABLED = False  # an open port for nothing
# Scrapy 2.19's remote-control HTTP server (runs Python sent to it): also a port for nothing, and
# it would write a job file into the user's profile on every run
REMOTE_CONTROL_ENABLED = False
# Scrapy re-parses a generator callback's source (inspect + ast) on every response to warn about
# a ``return value`` in it: its cache is keyed by the bound method, which is new every time.
# Our callbacks return no value (tests/test_crawl.py checks them with Scrapy's own test).
WARN_ON_GENERATOR_RETURN_VALUE = False
REFERER_ENABLED = True  # image requests set the article page as Referer themselves
# -O x.json/.csv/.xml: Chinese as Chinese, not \uXXXX escapes (Scrapy's default for JSON)
FEED_EXPORT_ENCODING = "utf-8"

# --- what a newsspider crawl is: its pipelines, middlewares, extensions, the replay profile,
# the output folder's checks and lock (newsspider/crawl/addon.py installs them) ---
ADDONS = {"newsspider.crawl.addon.Newsspider": 0}

# --- newsspider's own settings ---
NEWSSPIDER_OUTPUT = DEFAULT_OUTPUT  # the Hexo source/ folder posts and images go to
NEWSSPIDER_CHANNEL = DEFAULT_CHANNEL  # channel a fetched URL is filed under
NEWSSPIDER_CHANNELS_FILE = None  # a user's YAML file adding channels to the shipped table
# The archive's form (three settings below): None = not given, so the folder's recorded form
# (<output>/.newsspider/form.json) applies; defaults local, "/", original (archive/form.py)
NEWSSPIDER_IMAGES = None  # local | remote | off (FORMAT.md "Images")
NEWSSPIDER_IMAGE_URL_PREFIX = None  # where Hexo serves <output>/images (site root by default)
# hosts images (and their redirects) are downloaded from; *.x means x and its subdomains
NEWSSPIDER_IMAGE_HOSTS = ["*.sinaimg.cn", "*.sina.com.cn", "*.sina.cn", "*.sinajs.cn"]
NEWSSPIDER_IMAGE_MAX_BYTES = 10 * 1024 * 1024  # larger images are not kept (post links remote)
NEWSSPIDER_IMAGE_MAX_PIXELS = 40_000_000  # width x height cap, checked before decoding (bombs)
NEWSSPIDER_IMAGE_MAX_ATTEMPTS = 3  # runs that may retry a failed image before it is given up
NEWSSPIDER_IMAGE_MAX_PER_ARTICLE = 300  # images fetched for one article; the rest stay remote
NEWSSPIDER_IMAGE_THREAD_BYTES = 64 * 1024  # images this big are decoded on a worker thread
NEWSSPIDER_COMPACT_BODY = None  # drop blank body lines so Markdown keeps the body one HTML block
NEWSSPIDER_FSYNC = False  # fsync posts before the rename (power-loss safety; costs time)
NEWSSPIDER_INDEX_BATCH_SECONDS = 0.0  # index writes committed together: per tick (0) or so long
NEWSSPIDER_REPLAY_DIR = None  # answer every request from a saved crawl (REPLAY.md) or a WARC
NEWSSPIDER_RECORD_DIR = None  # save every response into a replay directory
NEWSSPIDER_RECORD_WARC = None  # append every request/response into a WARC file (.warc.gz)
NEWSSPIDER_REFRESH = False  # re-fetch archived articles and rewrite imported posts too
NEWSSPIDER_RETRY_AFTER_MAX = 60  # longest Retry-After waited for; longer: give up until next run
NEWSSPIDER_MAX_ATTEMPTS = 5  # runs that retry an article recorded as failed before giving it up
NEWSSPIDER_PROGRESS = False  # a live progress line on stderr (the crawl command sets it on a TTY)
# the summary file: the run's figures, failures with reasons and health verdict, as JSON (what
# `--summary-json` sets; `scrapy crawl` and Scrapyd have no exit status: read it here)
NEWSSPIDER_SUMMARY_JSON = None
NEWSSPIDER_COMMAND = None  # what started the crawl, for a second crawl the lock refuses
# --- several machines through Redis (`crawl --redis URL` feeds, `worker --redis URL` archives) ---
NEWSSPIDER_REDIS_URL = None  # redis://host:6379/0; unset: a single-machine crawl
NEWSSPIDER_REDIS_ROLE = (
    "feeder"  # or "worker": archive what the feeder queued (`newsspider worker`)
)
NEWSSPIDER_REDIS_PREFIX = "newsspider"  # key prefix: several clusters can share one server
NEWSSPIDER_REDIS_LEASE = 300  # seconds a worker holds an article before others may take it back
NEWSSPIDER_REDIS_POLL = 1.0  # seconds between a worker's looks at the queue and its leases
NEWSSPIDER_EXIT_WHEN_IDLE = 0  # a worker exits after this many idle seconds (0: runs until stopped)

LOG_LEVEL = "INFO"
