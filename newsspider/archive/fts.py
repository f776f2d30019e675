"""The full-text table beside the index's rows, and the ``ts`` column: below the index.

Both :class:`~newsspider.archive.index.Index` (which creates and flushes the table as it
writes rows) and :mod:`newsspider.archive.fulltext` (which searches it) need this; it lives
in its own module so that the data flows one way: ``fulltext`` -> ``index`` -> ``fts``.

Search is an SQLite FTS5 table with the ``trigram`` tokenizer (SQLite 3.34 or later): any
substring of three or more characters matches, which suits Chinese text that has no spaces to
split words on.

Triggers keep the FTS table in step with ``articles`` whoever writes it, in two steps: in the
statement that writes a row they only note the rowids it touched in ``fts_pending`` (cheap, and
committed with the row, so a crash loses nothing); :func:`flush_pending` later re-indexes the
noted rowids in one transaction (every ``FLUSH_EVERY`` writes of an :class:`Index`, at its close,
when an index is opened, and before a search), which is much cheaper than an FTS update and
commit per article. Every step is idempotent (a delete of an absent rowid, an insert-or-ignore of
a rowid), so it stays right whether a row is replaced, upserted, updated or deleted, and whatever
``recursive_triggers`` says. The FTS table holds its own copy of title and text (an
external-content table would be corrupted by a double delete). It is keyed by the article's
rowid, which ``VACUUM`` may renumber: ``index check`` reports FTS rows that disagree with
``articles`` (rows still pending are not a problem), ``--repair`` rebuilds.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

BEIJING = timezone(timedelta(hours=8))

FTS_SCHEMA = """
CREATE INDEX IF NOT EXISTS articles_ts ON articles(ts);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(title, text, tokenize='trigram');
CREATE TABLE IF NOT EXISTS fts_pending (rid INTEGER PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS articles_fts_bi BEFORE INSERT ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending(rid)
        SELECT rowid FROM articles WHERE key = new.key OR path = new.path;
END;
CREATE TRIGGER IF NOT EXISTS articles_fts_ai AFTER INSERT ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending(rid) VALUES (new.rowid);
END;
CREATE TRIGGER IF NOT EXISTS articles_fts_ad AFTER DELETE ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending(rid) VALUES (old.rowid);
END;
CREATE TRIGGER IF NOT EXISTS articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending(rid) VALUES (old.rowid);
    INSERT OR IGNORE INTO fts_pending(rid) VALUES (new.rowid);
END;
"""
#: the triggers' names: an index written before ``fts_pending`` has them updating the FTS table
#: directly, and gets them replaced on open
FTS_TRIGGERS = ("articles_fts_bi", "articles_fts_ai", "articles_fts_ad", "articles_fts_au")
#: an :class:`~newsspider.archive.index.Index` flushes the pending rows after this many writes
FLUSH_EVERY = 100


def flush_pending(db: sqlite3.Connection) -> int:
    """Bring the FTS rows of every pending rowid in step with ``articles``; how many there were.

    One transaction (or part of the caller's, if one is open): the FTS rows of the pending
    rowids are dropped, those still in ``articles`` indexed again, the marks cleared.
    """
    if not db.execute("SELECT 1 FROM fts_pending LIMIT 1").fetchone():
        return 0
    own = not db.in_transaction
    if own:
        db.execute("BEGIN IMMEDIATE")
    try:
        n = db.execute("SELECT count(*) FROM fts_pending").fetchone()[0]
        db.execute("DELETE FROM articles_fts WHERE rowid IN (SELECT rid FROM fts_pending)")
        db.execute(
            "INSERT OR REPLACE INTO articles_fts(rowid, title, text) SELECT rowid, title, text "
            "FROM articles WHERE rowid IN (SELECT rid FROM fts_pending)"
        )
        db.execute("DELETE FROM fts_pending")
        if own:
            db.execute("COMMIT")
    except BaseException:
        if own and db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return n


def has_pending(db: sqlite3.Connection) -> bool:
    try:
        return db.execute("SELECT 1 FROM fts_pending LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # an index from before the pending table
        return False


def timestamp(published: str, date: str) -> int | None:
    """Unix seconds of an article's publication (the ISO ``published``, else the front matter
    ``date``: RFC 1123 as this project writes it, or ``2021-08-07 05:06:37`` as some imported
    posts have it, read as Beijing time), for ordering and ``--since``; ``None`` if unreadable."""
    for value in (published, date):
        if not value:
            continue
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                continue
        return int((when if when.tzinfo else when.replace(tzinfo=BEIJING)).timestamp())
    return None


def iso_beijing(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, BEIJING).isoformat() if ts is not None else ""


def fts_problems(db: sqlite3.Connection) -> list[str]:
    """Keys whose FTS entry disagrees with their row, and FTS rows no article holds (what
    ``index check`` reports; a rebuild by ``--repair`` puts them right)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone():
        return []  # an index from before full-text search: the next open builds it
    # rows noted in fts_pending (a crawl still running, or killed before its flush) are indexed
    # by the next open or search: not a problem
    pending = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'fts_pending'").fetchone()
    skip = " AND {0}.rowid NOT IN (SELECT rid FROM fts_pending)" if pending else ""
    bad = [
        row[0]
        for row in db.execute(
            "SELECT a.key FROM articles a LEFT JOIN articles_fts f ON f.rowid = a.rowid "
            "WHERE (f.rowid IS NULL OR f.title IS NOT a.title OR f.text IS NOT a.text)"
            + skip.format("a")
        )
    ]
    stray = db.execute(
        "SELECT count(*) FROM articles_fts f WHERE NOT EXISTS "
        "(SELECT 1 FROM articles a WHERE a.rowid = f.rowid)" + skip.format("f")
    ).fetchone()[0]
    return bad + ([f"<index>: {stray} full-text row(s) without an article"] if stray else [])
