"""The ``newsspider`` command: a thin layer over Scrapy's crawler API.

Every subcommand exits with the same convention (also in ``--help``):
0 all requested work done (an unchanged article counts as done); 1 some articles or URLs failed
(the rest was archived); 2 usage or configuration error (nothing done); 3 health alarm (a crawl
that looks like the site changed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from newsspider.errors import UsageError  # one class for every layer: exit 2

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_HEALTH = 0, 1, 2, 3

EXIT_STATUS_HELP = """exit status:
  0  all requested work done (an unchanged article counts as done)
  1  some articles or URLs failed (the rest was archived)
  2  usage or configuration error (nothing done)
  3  health alarm (a crawl that looks like the site changed)"""


def positive_int(text: str) -> int:
    """argparse type for counts (--pages, --limit, --rounds): a clear message, exit 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


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
                "MANIFEST.tsv (see REPLAY.md)"
            )
        overrides["NEWSSPIDER_REPLAY_DIR"] = str(replay)
        from newsspider.settings import replay_profile

        overrides.update(replay_profile(settings))  # what a replay never uses, switched off
    if getattr(args, "record", None):
        overrides["NEWSSPIDER_RECORD_DIR"] = args.record
    if getattr(args, "overwrite_feed", None):
        overrides["FEEDS"] = _feeds(settings, args.overwrite_feed)
    if getattr(args, "record_warc", None):
        warc = Path(args.record_warc)
        if warc.is_dir():
            raise UsageError(f"--record-warc {warc}: is a directory; name a .warc.gz file")
        if getattr(args, "replay", None) and warc.resolve() == Path(args.replay).resolve():
            raise UsageError(f"--record-warc {warc}: is the WARC being replayed")
        overrides["NEWSSPIDER_RECORD_WARC"] = str(warc)
    overrides.update(extra)
    for pair in getattr(args, "set", None) or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"-s {pair}: expected NAME=VALUE")
        overrides[key] = value
    settings.setdict(overrides, priority="cmdline")
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
    from newsspider.archive.channels import ChannelError, load_channels

    try:
        table = load_channels(settings.get("NEWSSPIDER_CHANNELS_FILE"))
    except ChannelError as exc:
        raise UsageError(str(exc)) from exc
    if channel not in table:
        raise UsageError(f"unknown channel {channel!r} (known: {', '.join(sorted(table))})")


def _run(settings: Any, spider: str, **kwargs: Any) -> Any:
    """Run one crawl to the end in this process and return its crawler."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    process.crawl(crawler, **kwargs)
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
    try:
        process.start()
    finally:
        for lg, was in zip(loggers, previous, strict=True):
            lg.setLevel(was)
    return crawler


def _summary(crawler: Any) -> tuple[dict[str, int], dict[str, str]]:
    stats = crawler.stats
    spider = crawler.spider
    failures: dict[str, str] = dict(getattr(spider, "failures", {}) or {})
    counts = {
        status: int(stats.get_value(f"archive/{status}", 0))
        for status in ("archived", "updated", "unchanged")
    }
    counts["failed"] = len(failures)
    return counts, failures


def _report(counts: dict[str, int], failures: dict[str, str]) -> int:
    for url, reason in failures.items():
        print(f"failed: {url}: {reason}", file=sys.stderr)
    line = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"newsspider: {line}", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


def cmd_fetch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _check_channel(settings, args.channel)
    crawler = _run(settings, "article", urls=" ".join(args.urls), channel=args.channel)
    return _report(*_summary(crawler))


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def cmd_extract(args: argparse.Namespace) -> int:
    """Print what the page objects extract, through the same spider callback as a crawl."""
    from scrapy import signals

    settings = _settings(args, ITEM_PIPELINES={})
    items: list[Any] = []
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler("article")
    crawler.signals.connect(lambda item: items.append(item), signal=signals.item_scraped)
    process.crawl(crawler, urls=" ".join(args.urls))
    process.start()
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
    _, failures = _summary(crawler)
    for url, reason in failures.items():
        print(f"failed: {url}: {reason}", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


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
    p.add_argument("--log-level", default="ERROR", help="Scrapy log level (default: ERROR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsspider",
        description="Archive Sina Finance news as Hexo posts.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str) -> Any:
        p = sub.add_parser(name, help=help, description=help, epilog=EXIT_STATUS_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        p.set_defaults(func=func)
        return p

    p = add("fetch", cmd_fetch, "archive the given article URLs now")
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("--channel", default="china", help="channel to file them under (default china)")
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
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"newsspider: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    # run the imported module, not this ``__main__`` copy: subcommand modules raise
    # ``newsspider.cli.UsageError``, which only that module's ``main`` catches
    from newsspider.cli import main as _main

    sys.exit(_main())
