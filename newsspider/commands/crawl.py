"""``newsspider crawl``: read channels through the roll API and archive what is new."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsspider.crawl.options import positive_int


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("crawl", cmd_crawl, "archive what is new in channels, through Sina's roll API")
    add_crawl_options(p, common)


def add_crawl_options(p: argparse.ArgumentParser, common: Callable[..., None]) -> None:
    """The options of ``crawl``; ``schedule`` takes the same ones and passes them on."""
    p.add_argument("--channel", action="append", metavar="KEY",
                   help="channel to crawl (repeatable, in order: an article in two channels is "
                   "filed under the first); default china; see `newsspider channels`")  # fmt: skip
    p.add_argument(
        "--pages", type=positive_int, metavar="N", help="read at most N roll pages a channel"
    )
    p.add_argument("--limit", type=positive_int, metavar="N", help="request at most N articles")
    p.add_argument("--since", metavar="WHEN",
                   help="stop at items created before WHEN (ISO date or date-time, Beijing time "
                   "unless it has an offset)")  # fmt: skip
    p.add_argument("--until", metavar="WHEN", help="skip items created after WHEN")
    p.add_argument("--refresh", action="store_true",
                   help="re-fetch archived articles and rewrite imported posts")  # fmt: skip
    p.add_argument("--template", metavar="NAME",
                   help="with --refresh: re-fetch only the archived articles this page object "
                   "made (`newsspider index templates`), all of them, listed or not: e.g. "
                   "generic, once a page object knows their skin")  # fmt: skip
    p.add_argument("--summary-json", metavar="FILE",
                   help="write the run's figures and every failed URL with its reason")  # fmt: skip
    p.add_argument("--jobdir", metavar="DIR",
                   help="keep the crawl's queue in DIR (Scrapy JOBDIR): a crawl stopped with "
                   "Ctrl-C or SIGTERM continues where it stopped when run again with the same "
                   "DIR and options; emptied once a crawl finishes")  # fmt: skip
    from newsspider.commands.worker import add_redis_option

    add_redis_option(p)  # several machines: queue the articles for `newsspider worker`
    common(p)


def _clear_jobdir(jobdir: str) -> None:
    """A finished job's queue is empty but its seen-requests file would filter every request
    of the next run with the same ``--jobdir``: start the next job afresh."""
    import shutil

    root = Path(jobdir)
    shutil.rmtree(root / "requests.queue", ignore_errors=True)
    for name in ("requests.seen", "spider.state"):
        (root / name).unlink(missing_ok=True)


def check_window(args: argparse.Namespace) -> None:
    """--since/--until must parse, in order, before anything starts (exit 2), for crawl and
    schedule (:func:`newsspider.crawl.options.window`)."""
    from newsspider.crawl import options

    options.window(args.since, args.until)


def crawl_arguments(args: argparse.Namespace, settings: Any) -> Any:
    """The options as the spider will check its arguments (``scrapy crawl sina -a`` too):
    :class:`newsspider.crawl.options.CrawlArguments`, the one place."""
    from newsspider.crawl.options import CrawlArguments

    return CrawlArguments.parse(
        channel=args.channel, pages=args.pages, limit=args.limit, since=args.since,
        until=args.until, refresh=args.refresh, template=getattr(args, "template", None),
        channels_file=settings.get("NEWSSPIDER_CHANNELS_FILE"),
    )  # fmt: skip


def cmd_crawl(args: argparse.Namespace) -> int:
    from newsspider.commands import print_report as _report
    from newsspider.commands.worker import check_redis, redis_settings
    from newsspider.crawl import options
    from newsspider.crawl.run import run as _run
    from newsspider.crawl.run import run_report
    from newsspider.crawl.run import settings_for as _settings
    from newsspider.crawl.run import writable_output as _writable_output
    from newsspider.errors import EXIT_HEALTH

    check_window(args)
    settings = _settings(
        args,
        NEWSSPIDER_REFRESH=bool(args.refresh),
        NEWSSPIDER_PROGRESS=sys.stderr.isatty(),
        NEWSSPIDER_COMMAND="newsspider crawl",  # named to a second crawl the lock refuses
        **redis_settings(args),
    )
    arguments = crawl_arguments(args, settings)
    if args.summary_json:
        options.writable_file(args.summary_json, "--summary-json")
        settings.set("NEWSSPIDER_SUMMARY_JSON", args.summary_json, priority="cmdline")
    _writable_output(settings, deep=True)
    if getattr(args, "redis", None):
        check_redis(args.redis)
    if getattr(args, "jobdir", None):
        settings.set("JOBDIR", args.jobdir, priority="cmdline")
    # the add-on's guard checks the folder and takes its lock (a busy one: exit 2), the archive
    # context writes --summary-json: as for `scrapy crawl` and Scrapyd
    crawler = _run(
        settings,
        "sina",
        channel=",".join(arguments.channels),
        pages=args.pages,
        limit=args.limit,
        since=args.since or "",
        until=args.until or "",
        refresh=args.refresh,
        template=getattr(args, "template", None) or "",
    )
    report = run_report(crawler)
    finish_reason = report.finish_reason
    if getattr(args, "jobdir", None) and finish_reason == "finished":
        _clear_jobdir(args.jobdir)
    code = _report(report.figures(), report.failures())
    if finish_reason and finish_reason != "finished":
        resume = f"run again with --jobdir {args.jobdir}" if getattr(args, "jobdir", None) else (
            "the next crawl completes what it listed")  # fmt: skip
        print(f"newsspider: crawl stopped before the end ({finish_reason}); {resume}",
              file=sys.stderr)  # fmt: skip
    for warning in report.health:
        print(f"newsspider: warning: health: {warning}", file=sys.stderr)
    return EXIT_HEALTH if report.health else code  # precedence: 3 over 1 over 0
