"""``newsspider fetch`` and ``extract``: the given article URLs, archived now or only printed."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from newsspider.article import DEFAULT_CHANNEL
from newsspider.commands import print_report
from newsspider.crawl.run import (
    check_channel,
    run,
    run_report,
    settings_for,
    summary,
    writable_output,
)
from newsspider.errors import exit_status


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("fetch", cmd_fetch, "archive the given article URLs now")
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("--channel", default=DEFAULT_CHANNEL,
                   help=f"channel to file them under (default {DEFAULT_CHANNEL})")  # fmt: skip
    common(p)

    p = add("extract", cmd_extract, "print the fields extracted from article URLs")
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("--json", action="store_true", help="one JSON object per article")
    common(p, archive=False)


def cmd_fetch(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    check_channel(settings, args.channel)
    writable_output(settings)
    crawler = run(settings, "article", urls=" ".join(args.urls), channel=args.channel)
    report = run_report(crawler)
    # the health alarm too: most articles needing the generic extractor is exit 3
    return print_report(report.figures(), report.failures(), report.health)


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
    settings = settings_for(args, ITEM_PIPELINES=dict.fromkeys(_ARCHIVE_PIPELINES))
    items: list[Any] = []
    crawler = run(settings, "article", on_item=items.append, urls=" ".join(args.urls))
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
    _, failures = summary(crawler)
    for url, reason in failures.items():
        print(f"failed: {url}: {reason}", file=sys.stderr)
    return exit_status(failed=bool(failures))
