"""Full-text search over the archive index (``newsspider search``, and export's reading).

The index keeps, beside each article's row, what export and search need without opening the
posts: the head image and body HTML as the post holds them (braces unescaped) and the body's plain
text (:func:`newsspider.archive.postread.derived_fields` reads them from the post). The full-text
table and its upkeep are :mod:`newsspider.archive.fts`'s, below the index; this module sits above
the index (``fulltext`` -> ``index`` -> ``fts``, never back).

Search is an SQLite FTS5 table with the ``trigram`` tokenizer: any substring of three or more
characters matches. Shorter terms cannot be looked up in a trigram index, so a query term of one
or two characters falls back to ``LIKE`` over the rows (a scan: slower, still correct).

Nothing here imports Scrapy: ``newsspider search`` must start fast.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from newsspider.archive.fts import BEIJING, flush_pending, has_pending, iso_beijing
from newsspider.archive.index import Index, damaged, file_problem

# BEIJING and iso_beijing: what a search prints and export writes, for their callers
__all__ = ["BEIJING", "LISTED_STATUSES", "Hit", "connect_readonly", "iso_beijing", "search"]

#: trigram tokenizer: the shortest term the FTS index can answer
MIN_TERM = 3

#: the articles that have a post to show (not a reserved path, not a failure without a post)
LISTED_STATUSES = ("archived", "imported", "gone", "stale")

# --- searching ---


@dataclass(frozen=True)
class Hit:
    """One matching article; ``title`` and ``snippet`` carry the highlight markers."""

    key: str
    path: str
    ts: int | None
    title: str
    snippet: str


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _mark(text: str, terms: Sequence[str], open_: str, close: str) -> str:
    if not terms:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
                         re.IGNORECASE)  # fmt: skip
    return pattern.sub(lambda m: open_ + m.group() + close, text)


def _window(text: str, terms: Sequence[str], width: int) -> str:
    """A stretch of ``text`` around the first term found (LIKE fallback's ``snippet()``)."""
    low = text.lower()
    found = [i for i in (low.find(t.lower()) for t in terms) if i >= 0]
    start = max(0, min(found) - width // 2) if found else 0
    piece = text[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


def search(
    db: sqlite3.Connection,
    query: str,
    *,
    channel: str | None = None,
    since: int | None = None,
    limit: int = 20,
    mark: tuple[str, str] = ("[", "]"),
    width: int = 32,
) -> tuple[list[Hit], int]:
    """Articles whose title or text contains every whitespace-separated term of ``query``,
    newest first, and how many match in all.

    Terms of three characters or more go through the trigram index; shorter ones are checked
    with ``LIKE`` (alone, they make the query a scan of the table).
    """
    terms = query.split()
    if not terms:
        return [], 0
    if has_pending(db):  # rows written since the last flush: index them first
        # a read-only connection cannot: connect_readonly caught up before opening it
        with contextlib.suppress(sqlite3.OperationalError):
            flush_pending(db)
    long_terms = [t for t in terms if len(t) >= MIN_TERM]
    short = [t for t in terms if len(t) < MIN_TERM]
    where = ["a.path IS NOT NULL",
             f"a.status IN ({', '.join('?' * len(LISTED_STATUSES))})"]  # fmt: skip
    params: list[object] = list(LISTED_STATUSES)
    if channel:
        where.append("a.channel = ?")
        params.append(channel)
    if since is not None:
        where.append("a.ts >= ?")
        params.append(since)
    for term in short:
        where.append("(a.title LIKE ? ESCAPE '\\' OR a.text LIKE ? ESCAPE '\\')")
        params += [_like(term), _like(term)]
    open_, close = mark
    order = "ORDER BY a.ts IS NULL, a.ts DESC, a.key"
    if long_terms:
        match = " AND ".join(_phrase(t) for t in long_terms)
        base = ("FROM articles_fts f JOIN articles a ON a.rowid = f.rowid "
                f"WHERE articles_fts MATCH ? AND {' AND '.join(where)}")  # fmt: skip
        args = [match, *params]
        total = db.execute(f"SELECT count(*) {base}", args).fetchone()[0]
        # pick the page first, then build snippets for those rows only: snippet() over every
        # match of a common term would cost more than the search itself
        rows = db.execute(
            f"WITH page AS (SELECT a.rowid AS rid {base} {order} LIMIT ?) "
            "SELECT a.key, a.path, a.ts, highlight(articles_fts, 0, ?, ?) AS title, "
            "snippet(articles_fts, 1, ?, ?, '…', ?) AS snippet, a.text AS text "
            "FROM articles_fts f JOIN articles a ON a.rowid = f.rowid "
            f"WHERE articles_fts MATCH ? AND f.rowid IN (SELECT rid FROM page) {order}",
            [*args, limit, open_, close, open_, close, min(64, width), match],
        ).fetchall()
        hits = []
        for key, path, ts, title, snippet, text in rows:
            if short:
                title = _mark(title, short, open_, close)
                snippet = _mark(snippet, short, open_, close)
            if not snippet and text:
                snippet = _window(text, terms, width)
            hits.append(Hit(key, path, ts, title, snippet.replace("\n", " ")))
        return hits, total
    base = f"FROM articles a WHERE {' AND '.join(where)}"
    total = db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
    rows = db.execute(f"SELECT a.key, a.path, a.ts, a.title, a.text {base} {order} LIMIT ?",
                      [*params, limit]).fetchall()  # fmt: skip
    hits = [
        Hit(key, path, ts, _mark(title, terms, open_, close),
            _mark(_window(text, terms, width), terms, open_, close).replace("\n", " "))
        for key, path, ts, title, text in rows
    ]  # fmt: skip
    return hits, total


def connect_readonly(output: Path) -> sqlite3.Connection:
    """The index of ``output`` opened read-only (a search writes nothing else), after the rows
    written since the last flush are indexed, upgraded first when an older index has no
    full-text table yet."""
    db_path = Path(output) / ".newsspider" / "index.sqlite3"
    if not db_path.is_file():
        raise FileNotFoundError(f"{output}: no archive index ({db_path} does not exist)")
    problem = file_problem(db_path)
    if problem:  # garbage or a cut file: one line naming the repair, not SQLite's error
        raise damaged(db_path, problem)
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone():
        if not has_pending(db):
            return db
        try:  # a crawl wrote since its last flush, or was killed before it: catch up
            rw = sqlite3.connect(db_path, timeout=30, isolation_level=None)
            try:
                flush_pending(rw)
            finally:
                rw.close()
        except sqlite3.OperationalError:  # a read-only archive: search what is indexed
            pass
        return db
    db.close()
    Index(Path(output)).close()  # adds the columns and the full-text table
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
