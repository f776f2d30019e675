"""``newsspider crawl``: read channels through the roll API and archive what is new."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: stats worth keeping in ``--summary-json`` (the rest is Scrapy's housekeeping)
_SUMMARY_STATS = ("roll/", "crawl/", "archive/", "article/", "replay/", "newsspider/",
                  "downloader/request_count", "downloader/response_count",
                  "downloader/response_status_count/", "finish_reason")  # fmt: skip


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("crawl", cmd_crawl, "archive what is new in channels, through Sina's roll API")
    p.add_argument("--channel", action="append", metavar="KEY",
                   help="channel to crawl (repeatable, in order: an article in two channels is "
                   "filed under the first); default china; see `newsspider channels`")  # fmt: skip
    p.add_argument(
        "--pages", type=_positive, metavar="N", help="read at most N roll pages a channel"
    )
    p.add_argument("--limit", type=_positive, metavar="N", help="request at most N articles")
    p.add_argument("--since", metavar="WHEN",
                   help="stop at items created before WHEN (ISO date or date-time, Beijing time "
                   "unless it has an offset)")  # fmt: skip
    p.add_argument("--until", metavar="WHEN", help="skip items created after WHEN")
    p.add_argument("--refresh", action="store_true",
                   help="re-fetch archived articles and rewrite imported posts")  # fmt: skip
    p.add_argument("--summary-json", metavar="FILE",
                   help="write the run's figures and every failed URL with its reason")  # fmt: skip
    common(p)


def cmd_crawl(args: argparse.Namespace) -> int:
    from newsspider.cli import UsageError, _check_channel, _report, _run, _settings, _summary
    from newsspider.roll import parse_when

    for name, end in (("since", False), ("until", True)):
        value = getattr(args, name)
        if value:
            try:
                parse_when(value, end=end)
            except ValueError as exc:
                raise UsageError(f"--{name}: {exc}") from None
    channels = list(dict.fromkeys(args.channel or ["china"]))
    settings = _settings(
        args,
        NEWSSPIDER_REFRESH=bool(args.refresh),
        NEWSSPIDER_PROGRESS=sys.stderr.isatty(),
    )
    for key in channels:
        _check_channel(settings, key)
    crawler = _run(
        settings,
        "sina",
        channel=",".join(channels),
        pages=args.pages,
        limit=args.limit,
        since=args.since or "",
        until=args.until or "",
        refresh=args.refresh,
    )
    counts, failures = _summary(crawler)
    spider = crawler.spider
    stats = crawler.stats.get_stats() if crawler.stats else {}
    skipped = sum(int(stats.get(k, 0)) for k in (
        "crawl/skipped_archived", "crawl/skipped_duplicate", "crawl/skipped_until"))  # fmt: skip
    extra = {
        "adopted": int(stats.get("archive/adopted", 0)),
        "gone": int(stats.get("archive/gone", 0)),
        "skipped": skipped,
        "requested": int(getattr(spider, "articles_requested", 0)),
        "pages": int(getattr(spider, "pages_read", 0)),
    }
    counts.update({k: v for k, v in extra.items() if v or k in ("skipped", "pages")})
    if args.summary_json:
        summary = {
            "channels": channels,
            "counts": {**counts, **extra},
            "stopped": dict(getattr(spider, "stop_reasons", {}) or {}),
            "failures": [{"url": u, "reason": r} for u, r in failures.items()],
            "stats": {k: v for k, v in sorted(stats.items()) if k.startswith(_SUMMARY_STATS)},
        }
        Path(args.summary_json).write_text(
            json.dumps(summary, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8"
        )
    return _report(counts, failures)
