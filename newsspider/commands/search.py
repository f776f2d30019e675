"""``newsspider search``: find archived articles by words of their title or text.

Answers from the index's full-text table (SQLite FTS5, trigram tokenizer) and never imports
Scrapy, so it starts and answers in a fraction of a second. Terms of one or two characters are
too short for a trigram index: they are matched with ``LIKE`` instead (a scan of the table,
slower on a large archive, still exact).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from newsspider.archive import DEFAULT_OUTPUT
from newsspider.crawl.options import positive_int

#: what marks a match inside the index's answer: Unicode noncharacters, which no text is meant
#: to carry, replaced by terminal attributes or by nothing once the text is cleaned
_OPEN, _CLOSE = "\ufdd0", "\ufdd1"
#: on a terminal: bold and reverse video, then every attribute off
TTY_MARK = ("\x1b[1;7m", "\x1b[0m")
#: escape sequences (CSI, OSC, other ESC forms) and every other control character that article
#: text may carry: printed as they are they would drive the user's terminal
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erase
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks, clipboard
    r"|\x1b[@-_]?"  # other ESC forms, or a lone ESC
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # C0 (tab and newline apart), DEL, C1
)


def clean(text: str) -> str:
    """``text`` without escape sequences and control characters (newlines become spaces)."""
    return _CONTROL.sub("", text.replace("\n", " ").replace("\t", " "))


def highlight(text: str, mark: tuple[str, str]) -> str:
    """Cleaned ``text`` with the index's match markers turned into ``mark`` (``("", "")``:
    plain text)."""
    return clean(text).replace(_OPEN, mark[0]).replace(_CLOSE, mark[1])


def use_attributes(stream: Any) -> bool:
    """Terminal attributes only on a terminal that takes them (not NO_COLOR, not TERM=dumb)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("search", cmd_search,
            "find archived articles containing every term of QUERY (title or text)")  # fmt: skip
    p.add_argument("query", nargs="+", metavar="QUERY",
                   help="terms (substrings, any language; all must occur); terms of 3 "
                   "characters or more use the full-text index, shorter ones a scan")  # fmt: skip
    p.add_argument("--output", "-o", metavar="DIR", default=DEFAULT_OUTPUT,
                   help="the archive's output folder (default: output)")  # fmt: skip
    p.add_argument("--channel", metavar="KEY", help="only articles filed under this channel")
    p.add_argument("--channels", metavar="FILE", help="YAML file adding channels to the table")
    p.add_argument("--since", metavar="WHEN",
                   help="only articles published at or after WHEN (ISO date or date-time, "
                   "Beijing time unless it has an offset)")  # fmt: skip
    p.add_argument("--limit", type=positive_int, default=20, metavar="N",
                   help="show at most N articles (default 20)")  # fmt: skip


def cmd_search(args: argparse.Namespace) -> int:
    import sqlite3

    from newsspider.archive.fulltext import BEIJING, connect_readonly, search
    from newsspider.crawl import options
    from newsspider.errors import EXIT_OK, UsageError

    since = options.since_timestamp(args.since)
    query = " ".join(args.query)
    if not query.split():
        raise UsageError("empty query")
    if args.channel:
        options.channels([args.channel], args.channels)
    output = options.existing_archive(args.output)
    # bold reverse on a terminal; plain text in a pipe or a file
    mark = TTY_MARK if use_attributes(sys.stdout) else ("", "")
    try:
        db = connect_readonly(output)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    try:
        hits, total = search(db, query, channel=args.channel, since=since, limit=args.limit,
                             mark=(_OPEN, _CLOSE))  # fmt: skip
    except sqlite3.OperationalError as exc:
        raise UsageError(f"search {query!r}: {exc}") from None
    finally:
        db.close()
    for hit in hits:
        when = (datetime.fromtimestamp(hit.ts, BEIJING).strftime("%Y-%m-%d %H:%M")
                if hit.ts is not None else "????-??-?? ??:??")  # fmt: skip
        title, snippet = highlight(hit.title, mark), highlight(hit.snippet, mark)
        print(f"{when}  {title}\n  {clean(hit.path)}\n  {snippet}\n")
    shown = f" (showing {len(hits)})" if len(hits) < total else ""
    print(f"newsspider: {total} match(es){shown}", file=sys.stderr)
    return EXIT_OK
