"""Running one crawl in this process, as the ``newsspider`` commands do: the Scrapy settings
their options stand for, the crawler run to its end, the report read back.

Everything that makes the crawl a newsspider crawl is the add-on's (:mod:`newsspider.crawl.addon`):
``scrapy crawl`` and Scrapyd get the same. What is here is only what a command line adds: options
turned into settings (checked first, :mod:`newsspider.crawl.options`), a start that failed
turned into :class:`~newsspider.errors.UsageError` (exit 2), and the user's log filter.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsspider.crawl import options
from newsspider.errors import UsageError

#: loggers whose errors repeat what the ``failed: URL: reason`` lines already say (a request
#: that gave up retrying, robots.txt that could not be fetched): out below INFO
_PER_REQUEST_LOGGERS = (
    "scrapy.downloadermiddlewares.retry",
    "scrapy.downloadermiddlewares.robotstxt",
    "newsspider.crawl.robots",
    "newsspider.crawl.retry",
)
_TRACEBACK = "Traceback (most recent call last)"


class UserLogFilter(logging.Filter):
    """What reaches the user's terminal below ``--log-level DEBUG``: records without their
    tracebacks (one line each), and, at WARNING and above, none of the per-request errors
    that the ``failed:`` lines and the summary report once per URL. DEBUG keeps everything
    for bug reports."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if self.level <= logging.DEBUG:
            return True
        if self.level >= logging.WARNING and record.name.startswith(_PER_REQUEST_LOGGERS):
            return False
        if record.exc_info or record.exc_text or record.stack_info:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        message = record.getMessage()
        cut = message.find(_TRACEBACK)
        if cut >= 0:
            # Twisted's "Unhandled error in Deferred" carries the traceback in its text
            record.msg = message[:cut].rstrip(" :\n") + " (--log-level DEBUG shows the traceback)"
            record.args = ()
        return True


def install_log_filter(level: int) -> None:
    """On the handlers Scrapy installed for this crawl (the root logger's)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, UserLogFilter) for f in handler.filters):
            handler.addFilter(UserLogFilter(level))


def settings_for(args: argparse.Namespace, **extra: Any) -> Any:
    """Project settings plus what the command line says; Scrapy is imported only when needed."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("newsspider.settings", priority="project")
    overrides: dict[str, Any] = {"LOG_LEVEL": args.log_level}
    if getattr(args, "output", None):
        overrides["NEWSSPIDER_OUTPUT"] = args.output
    if getattr(args, "images", None):
        overrides["NEWSSPIDER_IMAGES"] = args.images
    if getattr(args, "channels", None):
        overrides["NEWSSPIDER_CHANNELS_FILE"] = args.channels
    if getattr(args, "compact_body", False):
        overrides["NEWSSPIDER_COMPACT_BODY"] = True
    if getattr(args, "replay", None):
        replay = Path(args.replay)
        is_warc = replay.is_file() and replay.name.lower().endswith((".warc", ".warc.gz"))
        if not is_warc and not (replay / "MANIFEST.tsv").is_file():
            raise UsageError(
                f"--replay {replay}: neither a .warc/.warc.gz file nor a directory with a "
                "MANIFEST.tsv (see docs/REPLAY.md)"
            )
        from newsspider.archive.warc import check_replay_source

        check_replay_source(replay)  # every manifest/WARC defect: ReplayDamaged, exit 2
        # the add-on switches off what a replay never uses (newsspider/crawl/addon.py)
        overrides["NEWSSPIDER_REPLAY_DIR"] = str(replay)
    if getattr(args, "record", None):
        overrides["NEWSSPIDER_RECORD_DIR"] = args.record
    if getattr(args, "overwrite_feed", None):
        options.feed_targets(args.overwrite_feed)
        overrides["FEEDS"] = _feeds(settings, args.overwrite_feed)
    if getattr(args, "record_warc", None):
        warc = Path(args.record_warc)
        if warc.is_dir():
            raise UsageError(f"--record-warc {warc}: is a directory; name a .warc.gz file")
        if getattr(args, "replay", None) and warc.resolve() == Path(args.replay).resolve():
            raise UsageError(f"--record-warc {warc}: is the WARC being replayed")
        overrides["NEWSSPIDER_RECORD_WARC"] = str(warc)
    overrides.update(extra)
    overrides.update(options.settings_pairs(getattr(args, "set", None)))
    settings.setdict(overrides, priority="cmdline")
    prefix = settings.get("NEWSSPIDER_IMAGE_URL_PREFIX")
    if prefix:  # written into every post: the same check as relink --image-prefix
        try:
            options.image_prefix(str(prefix))
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"NEWSSPIDER_IMAGE_URL_PREFIX: {exc}") from None
    return settings


def _feeds(settings: Any, targets: list[str]) -> dict[str, dict[str, Any]]:
    """``-O FILE[:FORMAT]`` read as ``scrapy crawl -O`` reads it (format from the extension:
    .jsonl, .json, .csv, .xml...), so feed exports work the Scrapy way."""
    from scrapy.exceptions import UsageError as ScrapyUsageError
    from scrapy.utils.conf import feed_process_params_from_cli

    try:
        return feed_process_params_from_cli(settings, [], overwrite_output=targets)
    except ScrapyUsageError as exc:
        raise UsageError(f"-O: {exc}") from None


def check_channel(settings: Any, channel: str) -> None:
    options.channels([channel], settings.get("NEWSSPIDER_CHANNELS_FILE"))


def writable_output(settings: Any, *, deep: bool = False) -> None:
    """The output folder of a command that writes (fetch, crawl, worker): usable, or exit 2;
    ``deep``: a crawl's start, which also has SQLite check the index."""
    options.writable_output(output_folder(settings), deep=deep)


def output_folder(settings: Any) -> Path:
    """NEWSSPIDER_OUTPUT (``--output``), or the archive's default folder."""
    from newsspider.archive import DEFAULT_OUTPUT

    return Path(settings.get("NEWSSPIDER_OUTPUT") or DEFAULT_OUTPUT)


def start_failure(failure: Any) -> UsageError:
    """Why the engine never opened the spider, as one line (exit 2)."""
    exc = failure.value
    if isinstance(exc, UsageError):
        return exc
    reason = f"{type(exc).__name__}: {exc}"
    dist = _DISTRIBUTIONS.get((getattr(exc, "name", None) or "").split(".")[0])
    if isinstance(exc, ImportError) and dist:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version(dist)
        except PackageNotFoundError:
            installed = "not installed"
        reason += f" ({dist} {installed}; newsspider needs {_requirement(dist)})"
    return UsageError(f"the crawl could not start: {reason}")


#: import name -> distribution, for the dependencies an unsupported version can break
_DISTRIBUTIONS = {"scrapy": "scrapy", "twisted": "twisted", "w3lib": "w3lib", "lxml": "lxml",
                  "PIL": "pillow", "yaml": "pyyaml", "warcio": "warcio",
                  "itemadapter": "itemadapter", "frontmatter": "python-frontmatter"}  # fmt: skip


def _requirement(name: str) -> str:
    """The declared requirement on distribution ``name`` (the installed package's metadata)."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        for req in requires("newsspider") or []:
            words = re.split(r"[<>=!~ ;\[(]", req, maxsplit=1)
            if words[0].lower() == name and "extra ==" not in req:
                return req.split(";")[0].strip()
    except PackageNotFoundError:
        pass
    return name


def run(settings: Any, spider: str, *, on_item: Callable[[Any], None] | None = None,
         **kwargs: Any) -> Any:  # fmt: skip
    """Run one crawl to the end in this process and return its crawler.

    A crawl whose engine never opened the spider (a pipeline or middleware that cannot load, a
    Scrapy too old for the code, an archive that refuses to open) raises :class:`UsageError`
    (exit 2) instead of reporting an empty success. ``on_item`` gets every scraped item.
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    try:
        process = CrawlerProcess(settings)  # its spider loader imports the spider modules
        crawler = process.create_crawler(spider)
    except ImportError as exc:  # a Scrapy (or other dependency) without what the code imports
        from twisted.python.failure import Failure

        raise start_failure(Failure(exc)) from None
    opened: list[bool] = []
    failures: list[Any] = []

    def spider_opened(spider: Any) -> None:
        opened.append(True)

    # weak=False: the dispatcher holds these closures (a weak reference to a local function
    # dies with this frame and the handler is silently never called)
    crawler.signals.connect(spider_opened, signal=signals.spider_opened, weak=False)
    if on_item is not None:

        def item_scraped(item: Any) -> None:
            on_item(item)

        crawler.signals.connect(item_scraped, signal=signals.item_scraped, weak=False)
    deferred = process.crawl(crawler, **kwargs)
    deferred.addErrback(failures.append)  # consumed: no "Unhandled error in Deferred"
    # Scrapy's root handler drops records under LOG_LEVEL, but only after every logger.debug()
    # or info() call (several per request) has built its record; a root level skips that work.
    # What reaches the handlers, and LogCount's log_count/* stats, is the same. Scrapy's own
    # logging config pins the "scrapy" logger at DEBUG (so the root level does not reach it):
    # raised too, or every request and item still builds a "Crawled"/"Scraped" record.
    level = settings.get("LOG_LEVEL")
    level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    loggers = [logging.getLogger(), logging.getLogger("scrapy")]
    previous = [lg.level for lg in loggers]
    if settings.getbool("LOG_ENABLED", True) and isinstance(level, int):
        for lg, was in zip(loggers, previous, strict=True):
            if lg is loggers[0] or was != logging.NOTSET:  # NOTSET: follows the root already
                lg.setLevel(max(was, level))
    install_log_filter(level if isinstance(level, int) else logging.INFO)
    try:
        process.start()
    finally:
        for lg, was in zip(loggers, previous, strict=True):
            lg.setLevel(was)
    if not opened:
        if failures:
            raise start_failure(failures[0])
        raise UsageError("the crawl could not start (the engine never opened the spider)")
    if failures:  # opened, then failed on the way out: logged, the summary says the rest
        logging.getLogger(__name__).error("crawl ended with an error: %s", failures[0].value)
    return crawler


def summary(crawler: Any) -> tuple[dict[str, int], dict[str, str]]:
    """The summary line's figures and the failed URLs, from the crawl's report."""
    report = run_report(crawler)
    return report.figures(), report.failures()


def run_report(crawler: Any) -> Any:
    """The crawl's :class:`~newsspider.crawl.report.RunReport` (its archive context's)."""
    from newsspider.crawl.context import report_of

    return report_of(crawler)
