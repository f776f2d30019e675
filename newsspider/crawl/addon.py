"""The newsspider add-on: what a newsspider crawl is, however it is started.

``newsspider crawl``, ``scrapy crawl sina`` and a Scrapyd job all read ``newsspider.settings``,
whose ``ADDONS`` names :class:`Newsspider`; Scrapy builds the add-on for each crawler and asks it
to update the settings. It installs:

- the item pipelines (validate -> images -> archive) and the middlewares (robots.txt, retries,
  same-site redirects, replay and recording), each only where the settings do not already name
  it or a subclass of it (a cluster worker's archive pipeline, a user's own);
- the replay profile: what a replayed crawl never uses, switched off;
- the User-Agent contact (``NEWSSPIDER_CONTACT``);
- :class:`~newsspider.crawl.guard.CrawlGuard`: the preflight checks, the output-folder lock.

The archive context (:mod:`newsspider.crawl.context`) does the rest: one index connection, the
report, the health verdict, the summary file. The three ways to start a crawl then differ only
in how they are started.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Self

from scrapy.utils.misc import load_object

from newsspider.crawl import useragent
from newsspider.errors import UsageError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

#: setting -> component path -> order (None: Scrapy's own component, replaced by ours)
COMPONENTS: dict[str, dict[str, int | None]] = {
    # the pipeline: validate -> images -> archive, with gaps for users' own steps
    "ITEM_PIPELINES": {
        "newsspider.crawl.pipelines.ArticlePipeline": 100,
        "newsspider.crawl.images.ImagesPipeline": 300,
        "newsspider.crawl.pipelines.ArchivePipeline": 800,
        # a cluster's worker only (NEWSSPIDER_REDIS_ROLE): claim the article's lease right
        # before its post is written, record it in Redis right after (crawl/cluster.py)
        "newsspider.crawl.cluster.LeaseClaimPipeline": 790,
        "newsspider.crawl.cluster.LeaseRecordPipeline": 810,
    },
    "DOWNLOADER_MIDDLEWARES": {
        # Scrapy's robots.txt check, fixed for requests that wait on the fetch (robots.py)
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
        "newsspider.crawl.robots.RobotsTxtMiddleware": 100,
        # Scrapy's retries, plus a bounded wait for a 429/503's Retry-After (retry.py)
        "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
        "newsspider.crawl.retry.RetryAfterMiddleware": 550,
        # Scrapy's redirects and meta refreshes, with every article hop kept on Sina's hosts
        # and loops failed with a reason (middlewares.py, SameSite*)
        "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
        "newsspider.crawl.middlewares.SameSiteRedirectMiddleware": 600,
        "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
        "newsspider.crawl.middlewares.SameSiteMetaRefreshMiddleware": 580,
        # replay answers after robots.txt, UA and stats have seen the request, before the
        # download slots (no delays) and the HTTP cache: see REPLAY_MIDDLEWARE_ORDER
        "newsspider.crawl.middlewares.ReplayDownloaderMiddleware": 875,
        # record after decompression, so saved bodies are the served bytes decoded (REPLAY.md)
        "newsspider.crawl.middlewares.RecordDownloaderMiddleware": 585,
        # WARC sees responses as received: above redirects (600) and decompression (590); see
        # WARC_RECORD_MIDDLEWARE_ORDER
        "newsspider.crawl.middlewares.WarcRecordDownloaderMiddleware": 605,
    },
    # with NEWSSPIDER_REDIS_URL, a crawl's article requests go to the cluster's queue (the
    # feeder), or (NEWSSPIDER_REDIS_ROLE = "worker") come from it; inactive otherwise
    # (crawl/cluster.py)
    "SPIDER_MIDDLEWARES": {
        "newsspider.crawl.cluster.FeedMiddleware": 50,
        "newsspider.crawl.cluster.WorkerMiddleware": 51,
    },
    "EXTENSIONS": {
        # first of ours: nothing is written into a folder it refuses or another crawl holds
        "newsspider.crawl.guard.CrawlGuard": 100,
        # the live progress line (inactive unless NEWSSPIDER_PROGRESS is set)
        "newsspider.crawl.progress.Progress": 500,
    },
}

#: What a replayed crawl (NEWSSPIDER_REPLAY_DIR) does not need: answers come from disk at once,
#: so there is no connection to time out, authenticate, proxy or throttle, and no depth or URL
#: length to police; each of these costs a call per request or per response.
REPLAY_DISABLED: dict[str, tuple[str, ...]] = {
    "DOWNLOADER_MIDDLEWARES": (
        "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware",  # our spiders set no domains
        "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware",
        "scrapy.downloadermiddlewares.downloadtimeout.DownloadTimeoutMiddleware",
        "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware",
    ),
    # RefererMiddleware stays: without it Scrapy's redirect middlewares warn on every run
    "SPIDER_MIDDLEWARES": (
        "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware",
        "scrapy.spidermiddlewares.depth.DepthMiddleware",
        "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware",
    ),
}
#: and AutoThrottle off (replayed requests never reach a download slot), no memory or log
#: statistics timers; ``-s`` still overrides any of it
REPLAY_SETTINGS: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "MEMUSAGE_ENABLED": False,
    "LOGSTATS_INTERVAL": 0,
}


def _loaded(key: Any) -> Any:
    try:
        return load_object(key) if isinstance(key, str) else key
    except (ImportError, NameError, ValueError, AttributeError):
        return None


def install(settings: BaseSettings, name: str, path: str, order: int | None) -> None:
    """Add ``path`` at ``order`` to the component dict ``name`` unless it is there already:
    itself (enabled, or disabled with None), or, for a component we enable, a subclass of it
    (a cluster worker's archive pipeline replaces ours)."""
    cls = load_object(path)
    components = dict(settings.getdict(name))
    for key in components:
        there = _loaded(key)
        if there is cls or (
            order is not None and isinstance(there, type) and issubclass(there, cls)
        ):
            return
    components[path] = order
    settings.set(name, components, priority=settings.getpriority(name) or 0)


def replay_profile(settings: BaseSettings) -> None:
    """Switch off what a replayed crawl never uses (only components and settings the user did
    not name: ``-s`` keeps the last word)."""
    for name, paths in REPLAY_DISABLED.items():
        for path in paths:
            install(settings, name, path, None)
    for name, value in REPLAY_SETTINGS.items():
        # above the project's settings, below the command line's ``-s``
        if (settings.getpriority(name) or 0) < 40:
            settings.set(name, value, priority=30)


class OneLineStartErrors(logging.Filter):
    """A crawl that cannot start because of us (a refused folder, a damaged index or replay,
    a busy lock: :class:`~newsspider.errors.UsageError`) says so in one line: no start-up
    traceback (Scrapy logs the crawl's failure through asyncio or Twisted). DEBUG keeps it."""

    def __init__(self) -> None:
        super().__init__()
        self.debug = False

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, UsageError) and not self.debug:
            record.msg, record.args = "the crawl could not start: %s", (exc,)
            record.name = "newsspider"
            record.exc_info = record.exc_text = None
        return True


_FILTER = OneLineStartErrors()


def _one_line_start_errors(level: object) -> None:
    _FILTER.debug = str(level).upper() in ("DEBUG", "10")
    for name in ("asyncio", "twisted", "scrapy.crawler", "scrapy.utils.log"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class Newsspider:
    """The add-on (``ADDONS = {"newsspider.crawl.addon.Newsspider": 0}``)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @classmethod
    def update_pre_crawler_settings(cls, settings: BaseSettings) -> None:
        # before any spider exists: its arguments' refusals are one line too
        _one_line_start_errors(settings.get("LOG_LEVEL"))

    def update_settings(self, settings: BaseSettings) -> None:
        for name, components in COMPONENTS.items():
            for path, order in components.items():
                install(settings, name, path, order)
        if settings.get("NEWSSPIDER_REPLAY_DIR"):
            replay_profile(settings)
        useragent.install(settings)
        _one_line_start_errors(settings.get("LOG_LEVEL"))
