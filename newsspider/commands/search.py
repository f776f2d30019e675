"""``newsspider search``: find archived articles by words of their title or text.

Answers from the index's full-text table (SQLite FTS5, trigram tokenizer) and never imports
Scrapy, so it starts and answers in a fraction of a second. Terms of one or two characters are
too short for a trigram index: they are matched with ``LIKE`` instead (a scan of the table,
slower on a large archive, still exact).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from newsspider.cli import positive_int


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("search", cmd_search,
            "find archived articles containing every term of QUERY (title or text)")  # fmt: skip
    p.add_argument("query", nargs="+", metavar="QUERY",
                   help="terms (substrings, any language; all must occur); terms of 3 "
                   "characters or more use the full-text index, shorter ones a scan")  # fmt: skip
    p.add_argument("--output", "-o", metavar="DIR", default="output",
                   help="the archive's output folder (default: output)")  # fmt: skip
    p.add_argument("--channel", metavar="KEY", help="only articles filed under this channel")
    p.add_argument("--since", metavar="WHEN",
                   help="only articles published at or after WHEN (ISO date or date-time, "
                   "Beijing time unless it has an offset)")  # fmt: skip
    p.add_argument("--limit", type=positive_int, default=20, metavar="N",
                   help="show at most N articles (default 20)")  # fmt: skip


def cmd_search(args: argparse.Namespace) -> int:
    import sqlite3

    from newsspider.archive.fulltext import BEIJING, connect_readonly, search
    from newsspider.cli import EXIT_OK, UsageError
    from newsspider.commands.export import since_timestamp

    since = since_timestamp(args.since)
    query = " ".join(args.query)
    if not query.split():
        raise UsageError("empty query")
    # bold on a terminal; plain markers a pipe or a file keeps
    mark = ("\x1b[1;31m", "\x1b[0m") if sys.stdout.isatty() else ("**", "**")
    try:
        db = connect_readonly(Path(args.output))
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    try:
        hits, total = search(db, query, channel=args.channel, since=since, limit=args.limit,
                             mark=mark)  # fmt: skip
    except sqlite3.OperationalError as exc:
        raise UsageError(f"search {query!r}: {exc}") from None
    finally:
        db.close()
    for hit in hits:
        when = (datetime.fromtimestamp(hit.ts, BEIJING).strftime("%Y-%m-%d %H:%M")
                if hit.ts is not None else "????-??-?? ??:??")  # fmt: skip
        print(f"{when}  {hit.title}\n  {hit.path}\n  {hit.snippet}\n")
    shown = f" (showing {len(hits)})" if len(hits) < total else ""
    print(f"newsspider: {total} match(es){shown}", file=sys.stderr)
    return EXIT_OK
