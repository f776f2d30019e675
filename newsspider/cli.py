"""The ``newsspider`` command: a thin layer over Scrapy's crawler API.

Every subcommand exits with the same convention (README "Exit status", also in ``--help``):
2 nothing could be done properly (found before the first request, or the engine never opened the
spider); 3 the health alarm; 1 some requested articles failed; 0 every requested article
archived, updated or unchanged. When several hold, 2 > 3 > 1 > 0. Options are checked in one
place, :mod:`newsspider.options`, and no traceback reaches the user below ``--log-level DEBUG``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from newsspider import options
from newsspider.article import DEFAULT_CHANNEL
from newsspider.errors import UsageError  # one class for every layer: exit 2
from newsspider.options import positive_int

__all__ = ["EXIT_FAILED", "EXIT_HEALTH", "EXIT_OK", "EXIT_USAGE", "UsageError", "main",
           "positive_int"]  # fmt: skip

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_HEALTH = 0, 1, 2, 3

EXIT_STATUS_HELP = """exit status (precedence 2 > 3 > 1 > 0):
  0  every requested article archived, updated or unchanged
  1  some requested articles failed (the rest was archived)
  2  nothing could be done: bad option or value, unusable output folder, damaged
     index or replay, a pipeline that cannot load, the crawl never started
  3  health alarm: fetched pages no longer look like Sina's
Ctrl-C, CLOSESPIDER_* and --limit end a crawl normally."""


def exit_status(*, health: bool = False, failed: bool = False) -> int:
    """The status of a run that started (2 is raised as :class:`UsageError` earlier):
    the health alarm wins over failures, failures over success."""
    if health:
        return EXIT_HEALTH
    return EXIT_FAILED if failed else EXIT_OK


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


def _install_log_filter(level: int) -> None:
    """On the handlers Scrapy installed for this crawl (the root logger's)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, UserLogFilter) for f in handler.filters):
            handler.addFilter(UserLogFilter(level))


def _settings(args: argparse.Namespace, **extra: Any) -> Any:
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


def _check_channel(settings: Any, channel: str) -> None:
    options.channels([channel], settings.get("NEWSSPIDER_CHANNELS_FILE"))


def _writable_output(settings: Any, *, deep: bool = False) -> None:
    """The output folder of a command that writes (fetch, crawl, worker): usable, or exit 2;
    ``deep``: a crawl's start, which also has SQLite check the index."""
    options.writable_output(output_folder(settings), deep=deep)


def output_folder(settings: Any) -> Path:
    """NEWSSPIDER_OUTPUT (``--output``), or the archive's default folder."""
    from newsspider.archive.store import DEFAULT_OUTPUT

    return Path(settings.get("NEWSSPIDER_OUTPUT") or DEFAULT_OUTPUT)


def _start_failure(failure: Any) -> UsageError:
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


def _run(settings: Any, spider: str, *, on_item: Callable[[Any], None] | None = None,
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

        raise _start_failure(Failure(exc)) from None
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
    _install_log_filter(level if isinstance(level, int) else logging.INFO)
    try:
        process.start()
    finally:
        for lg, was in zip(loggers, previous, strict=True):
            lg.setLevel(was)
    if not opened:
        if failures:
            raise _start_failure(failures[0])
        raise UsageError("the crawl could not start (the engine never opened the spider)")
    if failures:  # opened, then failed on the way out: logged, the summary says the rest
        logging.getLogger(__name__).error("crawl ended with an error: %s", failures[0].value)
    return crawler


def _summary(crawler: Any) -> tuple[dict[str, int], dict[str, str]]:
    """The summary line's figures and the failed URLs, from the crawl's report."""
    report = run_report(crawler)
    return report.figures(), report.failures()


def run_report(crawler: Any) -> Any:
    """The crawl's :class:`~newsspider.crawl.report.RunReport` (its archive context's)."""
    from newsspider.crawl.context import report_of

    return report_of(crawler)


def _report(counts: dict[str, int], failures: dict[str, str],
            health: Sequence[str] = ()) -> int:  # fmt: skip
    """Print the failed lines, the summary line and the health warnings; the exit status
    (the health alarm over failures, failures over success)."""
    for url, reason in failures.items():
        print(f"failed: {url}: {reason}", file=sys.stderr)
    line = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"newsspider: {line}", file=sys.stderr)
    for warning in health:
        print(f"newsspider: warning: health: {warning}", file=sys.stderr)
    return exit_status(health=bool(health), failed=bool(failures))


def cmd_fetch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _check_channel(settings, args.channel)
    _writable_output(settings)
    crawler = _run(settings, "article", urls=" ".join(args.urls), channel=args.channel)
    report = run_report(crawler)
    # the health alarm too: most articles needing the generic extractor is exit 3
    return _report(report.figures(), report.failures(), report.health)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


#: what ``extract`` switches off: it prints what the page objects make, it writes nothing
_ARCHIVE_PIPELINES = (
    "newsspider.crawl.pipelines.ArticlePipeline",
    "newsspider.crawl.images.ImagesPipeline",
    "newsspider.crawl.pipelines.ArchivePipeline",
)


def cmd_extract(args: argparse.Namespace) -> int:
    """Print what the page objects extract, through the same spider callback as a crawl."""
    # no pipeline (None disables what the add-on would install): nothing is written
    settings = _settings(args, ITEM_PIPELINES=dict.fromkeys(_ARCHIVE_PIPELINES))
    items: list[Any] = []
    crawler = _run(settings, "article", on_item=items.append, urls=" ".join(args.urls))
    for item in items:
        data = asdict(item)
        for key in ("local_images", "failed_images", "roll_ctime", "roll_mtime", "channel"):
            data.pop(key, None)
        if args.json:
            print(json.dumps(data, ensure_ascii=False, default=_json_default))
        else:
            for key, value in data.items():
                if key == "body":
                    value = f"<{len(value)} characters>"
                elif isinstance(value, datetime):
                    value = value.isoformat()
                print(f"{key}: {value}")
            print()
    sys.stdout.flush()
    _, failures = _summary(crawler)
    for url, reason in failures.items():
        print(f"failed: {url}: {reason}", file=sys.stderr)
    return exit_status(failed=bool(failures))


def cmd_channels(args: argparse.Namespace) -> int:
    from newsspider.archive.channels import ChannelError, load_channels

    try:
        table = load_channels(args.channels)
    except ChannelError as exc:
        raise UsageError(str(exc)) from exc
    for ch in table.values():
        print(f"{ch.key}\tpageid={ch.pageid}\tlid={ch.lid}\t{'/'.join(ch.categories)}\t{ch.author}")
    return EXIT_OK


def _common(p: argparse.ArgumentParser, *, archive: bool = True) -> None:
    if archive:
        p.add_argument("--output", "-o", metavar="DIR", help="output folder (default: output)")
        p.add_argument(
            "--images",
            choices=("local", "remote", "off"),
            help="local: download and link local copies (default); remote: download, keep "
            "remote links; off: download nothing",
        )
        p.add_argument(
            "--compact-body",
            action="store_true",
            help="drop blank body lines so Markdown renders the body as HTML",
        )
    p.add_argument("--channels", metavar="FILE", help="YAML file adding channels to the table")
    p.add_argument("--replay", metavar="DIR|WARC",
                   help="answer every request from a saved crawl: a replay directory or a "
                   ".warc/.warc.gz file")  # fmt: skip
    p.add_argument("--record", metavar="DIR", help="save every response into a replay directory")
    p.add_argument("-O", "--overwrite-feed", action="append", metavar="FILE[:FORMAT]",
                   help="also export the articles of this run to FILE, replacing it "
                   "(Scrapy feed exports; format from the extension: .jsonl, .json, .csv, "
                   ".xml)")  # fmt: skip
    p.add_argument("--record-warc", metavar="FILE",
                   help="append every request and response to a WARC file (gzip unless FILE "
                   "ends in .warc)")  # fmt: skip
    p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE",
                   help="override a Scrapy setting")  # fmt: skip
    add_log_level(p)


def add_log_level(p: argparse.ArgumentParser) -> None:
    """``--log-level``: checked by :func:`newsspider.options.log_level` (exit 2 otherwise)."""
    p.add_argument("--log-level", default="ERROR", type=options.log_level, metavar="LEVEL",
                   help="log level: CRITICAL, ERROR (default: only the failed: lines and the "
                   "summary), WARNING, INFO, DEBUG (also every traceback)")  # fmt: skip


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``newsspider: error: ...``, exit 2, like every other
    refusal) and no abbreviated options: ``--round`` is a typo, not ``--rounds``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _version() -> str:
    from newsspider import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="newsspider",
        description="Archive Sina Finance news as Hexo posts.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"newsspider {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=Parser)  # fmt: skip

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str) -> Any:
        p = sub.add_parser(name, help=help, description=help, epilog=EXIT_STATUS_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        p.set_defaults(func=func)
        return p

    p = add("fetch", cmd_fetch, "archive the given article URLs now")
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("--channel", default=DEFAULT_CHANNEL,
                   help=f"channel to file them under (default {DEFAULT_CHANNEL})")  # fmt: skip
    _common(p)

    p = add("extract", cmd_extract, "print the fields extracted from article URLs")
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("--json", action="store_true", help="one JSON object per article")
    _common(p, archive=False)

    p = add("channels", cmd_channels, "list the channels and their roll API lists")
    p.add_argument("--channels", metavar="FILE", help="YAML file adding channels to the table")

    # further subcommands live one per module in newsspider/commands (each has register())
    import importlib
    import pkgutil

    import newsspider.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"newsspider.commands.{info.name}")
        module.register(add, _common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the words as typed: `schedule` passes its crawl options on to each round unchanged
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    debug = getattr(args, "log_level", "ERROR") == "DEBUG"
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"newsspider: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # outside a crawl (a crawl handles Ctrl-C itself)
        print("newsspider: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line by default, the traceback with DEBUG
        if debug:
            raise
        print(f"newsspider: error: {type(exc).__name__}: {exc} (--log-level DEBUG shows the "
              "traceback; please report it)", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE


if __name__ == "__main__":
    # run the imported module, not this ``__main__`` copy: subcommand modules raise
    # ``newsspider.cli.UsageError``, which only that module's ``main`` catches
    from newsspider.cli import main as _main

    sys.exit(_main())
