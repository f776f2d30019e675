"""The archive index: SQLite under ``<output>/.newsspider/`` plus an append-only journal.

The index answers "is this article archived, and where" in one indexed lookup, so a crawl's cost
does not grow with the archive. The journal (one JSON line per write) is the record the index can
be rebuilt from. WAL mode lets a ``fetch`` write while a crawl runs.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from newsspider.archive.fulltext import (
    FLUSH_EVERY,
    FTS_SCHEMA,
    FTS_TRIGGERS,
    derived_fields,
    flush_pending,
    timestamp,
)
from newsspider.testhooks import crash_point

STATE_DIR = ".newsspider"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    key TEXT PRIMARY KEY,          -- doc id, or the canonical URL of a page without one
    url TEXT NOT NULL DEFAULT '',
    doc_id TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL DEFAULT '',
    path TEXT UNIQUE,              -- post path relative to the output folder
    content_hash TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '', -- the front matter date, kept so a re-fetch gives the same bytes
    title TEXT NOT NULL DEFAULT '',
    published TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    editor TEXT NOT NULL DEFAULT '',
    keywords TEXT NOT NULL DEFAULT '[]',
    images TEXT NOT NULL DEFAULT '[]',
    local_images TEXT NOT NULL DEFAULT '{}',
    failed_images TEXT NOT NULL DEFAULT '{}',
    roll_mtime INTEGER,
    first_archived TEXT NOT NULL DEFAULT '',
    last_archived TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending', -- pending | archived | imported | gone | failed
    reason TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    -- derived from the post file, not journaled (fulltext.py): export and search read these
    headimg TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',  -- body HTML as the post holds it, braces unescaped
    text TEXT NOT NULL DEFAULT '',  -- its plain text, the full-text index's content
    ts INTEGER                      -- unix seconds of published (else date): order, --since
);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE TABLE IF NOT EXISTS images (
    url TEXT PRIMARY KEY,          -- the image URL as the body holds it
    path TEXT,                     -- images/<host>/<path> once claimed; never changes after
    path_key TEXT UNIQUE,          -- lower-cased path: one file per name on case-blind disks too
    status TEXT NOT NULL DEFAULT 'pending', -- pending | ok | failed
    attempts INTEGER NOT NULL DEFAULT 0,    -- failed downloads so far (bounded retries)
    reason TEXT NOT NULL DEFAULT '',        -- why the last attempt failed
    bytes INTEGER NOT NULL DEFAULT 0,
    format TEXT NOT NULL DEFAULT '',        -- what Pillow detected: JPEG, PNG, GIF, WEBP
    updated TEXT NOT NULL DEFAULT ''
);
"""

COLUMNS = (
    "key", "url", "doc_id", "channel", "path", "content_hash", "date", "title", "published",
    "source", "editor", "keywords", "images", "local_images", "failed_images", "roll_mtime",
    "first_archived", "last_archived", "status", "reason", "attempts", "headimg", "body", "text",
)  # fmt: skip
#: columns computed from the post's bytes: left out of the journal (the post is their record;
#: ``index check --repair`` recomputes them), so the journal stays small
DERIVED = ("headimg", "body", "text")
JOURNALED = tuple(c for c in COLUMNS if c not in DERIVED)
#: columns added after the first release: an older index gets them on open
_ADDED = {"headimg": "TEXT NOT NULL DEFAULT ''", "body": "TEXT NOT NULL DEFAULT ''",
          "text": "TEXT NOT NULL DEFAULT ''", "ts": "INTEGER"}  # fmt: skip
_JSON_COLUMNS = ("keywords", "images", "local_images", "failed_images")
#: a journal line ``{"_deleted": key}`` removes that row when the journal is replayed
DELETED = "_deleted"


@dataclass
class Record:
    """One article row, JSON columns decoded."""

    key: str
    url: str = ""
    doc_id: str = ""
    channel: str = ""
    path: str | None = None
    content_hash: str = ""
    date: str = ""
    title: str = ""
    published: str = ""
    source: str = ""
    editor: str = ""
    keywords: list[str] | None = None
    images: list[str] | None = None
    local_images: dict[str, str] | None = None
    failed_images: dict[str, str] | None = None
    roll_mtime: int | None = None
    first_archived: str = ""
    last_archived: str = ""
    status: str = "pending"
    reason: str = ""
    attempts: int = 0
    headimg: str = ""
    body: str = ""
    text: str = ""

    def as_row(self) -> dict[str, Any]:
        row = {c: getattr(self, c) for c in COLUMNS}
        for c in _JSON_COLUMNS:
            row[c] = json.dumps(row[c] or ([] if c in ("keywords", "images") else {}),
                                ensure_ascii=False, sort_keys=True)  # fmt: skip
        return row

    def journal_row(self) -> dict[str, Any]:
        """The row as the journal records it: without the columns derived from the post."""
        row = self.as_row()
        for c in DERIVED:
            del row[c]
        return row

    def set_derived(self, data: bytes | str) -> None:
        """Take headimg, body and text from the post's bytes (or text)."""
        for name, value in derived_fields(data).items():
            setattr(self, name, value)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Record:
        names = row.keys()
        # an index not yet upgraded (read-only by ``index check``) lacks the derived columns
        values = {c: row[c] for c in COLUMNS if c in names or c not in DERIVED}
        for c in _JSON_COLUMNS:
            values[c] = json.loads(values[c])
        return cls(**values)


class Index:
    """Thin, synchronous SQLite access; one connection per process."""

    #: open shared indexes by state folder (:meth:`shared`)
    _open: ClassVar[dict[Path, Index]] = {}

    def __init__(self, output: Path) -> None:
        #: holders of this connection (:meth:`shared`); :meth:`close` closes at the last
        self._users = 1
        self._shared_key: Path | None = None
        self.state = Path(output) / STATE_DIR
        self.state.mkdir(parents=True, exist_ok=True)
        self.db_path = self.state / "index.sqlite3"
        self.journal_path = self.state / "journal.jsonl"
        self.db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self._upgrade()
        self._writes = 0  # since the last flush of the full-text index
        flush_pending(self.db)  # rows a killed process wrote but did not index
        # a buffer larger than any line: each write()+flush() is one append(2), so lines from a
        # crawl and a ``fetch`` beside it never interleave (O_APPEND keeps each call whole)
        self._journal = open(  # noqa: SIM115
            self.journal_path, "a", encoding="utf-8", buffering=1 << 22
        )

    def _upgrade(self) -> None:
        """Bring an index written by an older version up to this schema: the derived columns
        (filled from the posts on disk, once) and the full-text table (filled from the rows)."""
        have = {row[1] for row in self.db.execute("PRAGMA table_info(articles)")}
        missing = [c for c in _ADDED if c not in have]
        for c in missing:
            try:
                self.db.execute(f"ALTER TABLE articles ADD COLUMN {c} {_ADDED[c]}")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise
        fts = self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone()
        # triggers from before fts_pending update the FTS table in the writing statement
        direct = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?, ?, ?) "
            "AND sql NOT LIKE '%fts_pending%'",
            FTS_TRIGGERS,
        ).fetchone()
        if direct:
            self.db.executescript(
                "BEGIN IMMEDIATE;"
                + "".join(f"DROP TRIGGER IF EXISTS {name};" for name in FTS_TRIGGERS)
                + FTS_SCHEMA
                + "COMMIT;"
            )
        self.db.executescript(FTS_SCHEMA)
        if fts and not missing:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if not fts:
                self.db.execute(
                    "INSERT OR REPLACE INTO articles_fts(rowid, title, text) "
                    "SELECT rowid, title, text FROM articles"
                )
            if missing:
                root = self.state.parent
                for row in self.db.execute("SELECT * FROM articles").fetchall():
                    rec = Record.from_row(row)
                    target = root / rec.path if rec.path else None
                    if target is not None and target.is_file():
                        rec.set_derived(target.read_bytes())
                    self.db.execute(
                        "UPDATE articles SET headimg = ?, body = ?, text = ?, ts = ? WHERE key = ?",
                        (rec.headimg, rec.body, rec.text, timestamp(rec.published, rec.date),
                         rec.key),
                    )  # fmt: skip
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    @classmethod
    def shared(cls, output: str | Path) -> Index:
        """The one open index of ``output`` in this process, opened on first use; each holder
        calls :meth:`close` once. A crawl's spider (lookups), images pipeline and archive
        pipeline share it: with a connection each, every write by one of them made the others
        drop their page cache and read the pages again (SQLite cannot tell its own process's
        writes from another's), and took the file locks once more per statement. They all run
        on the reactor thread, one statement at a time, so one connection serves them all.
        """
        key = (Path(output) / STATE_DIR).resolve()
        index = cls._open.get(key)
        if index is not None:
            index._users += 1
            return index
        index = cls(Path(output))
        index._shared_key = key
        cls._open[key] = index
        return index

    def close(self) -> None:
        self._users -= 1
        if self._users > 0:
            return
        if self._shared_key is not None and self._open.get(self._shared_key) is self:
            del self._open[self._shared_key]
        try:
            self.flush()
        finally:
            self._journal.close()
            self.db.close()

    def flush(self) -> None:
        """Index the rows written since the last flush in the full-text table (one transaction
        for many articles: an FTS update and commit per article costs more than the row)."""
        self._writes = 0
        flush_pending(self.db)

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes >= FLUSH_EVERY and not self.db.in_transaction:
            self.flush()

    def get(self, key: str) -> Record | None:
        row = self.db.execute("SELECT * FROM articles WHERE key = ?", (key,)).fetchone()
        return Record.from_row(row) if row else None

    def by_url(self, url: str) -> Record | None:
        row = self.db.execute("SELECT * FROM articles WHERE url = ?", (url,)).fetchone()
        return Record.from_row(row) if row else None

    def holder_of(self, path: str) -> str | None:
        row = self.db.execute("SELECT key FROM articles WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def by_path(self, path: str) -> Record | None:
        row = self.db.execute("SELECT * FROM articles WHERE path = ?", (path,)).fetchone()
        return Record.from_row(row) if row else None

    def delete(self, key: str) -> None:
        """Drop a row, and say so in the journal, so a rebuild does not bring it back (an
        imported record re-keyed by the doc id a crawl found is the one case)."""
        self.db.execute("DELETE FROM articles WHERE key = ?", (key,))
        self._wrote()
        self._journal.write(json.dumps({DELETED: key}, ensure_ascii=False) + "\n")
        self._journal.flush()

    def put(self, rec: Record, *, journal: bool = True) -> None:
        row = rec.as_row()
        row["ts"] = timestamp(rec.published, rec.date)
        cols = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        self.db.execute(f"INSERT OR REPLACE INTO articles ({cols}) VALUES ({marks})", row)
        self._wrote()
        if journal:
            line = {c: row[c] for c in JOURNALED}
            self._journal.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            self._journal.flush()

    def journal(self, entry: dict[str, Any]) -> None:
        """Append a line of another table (``{"table": "images", ...}``) to the journal."""
        self._journal.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        self._journal.flush()

    def records(self) -> Iterator[Record]:
        for row in self.db.execute("SELECT * FROM articles ORDER BY key"):
            yield Record.from_row(row)

    def failed(self) -> list[Record]:
        """Articles whose last attempt failed (``index failed``; a crawl retries them)."""
        rows = self.db.execute("SELECT * FROM articles WHERE status = 'failed' ORDER BY key")
        return [Record.from_row(row) for row in rows.fetchall()]

    def journal_entries(self) -> Iterator[dict[str, Any]]:
        """Every journal line, skipping a torn last line left by a crash."""
        if not self.journal_path.exists():
            return
        with open(self.journal_path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue


def replay_journal(entries: Iterator[dict[str, Any]]) -> dict[str, Record]:
    """The article rows a journal describes: the last line per key wins, deletions remove.

    Lines that are not article rows (another table's, a future kind) are skipped, so the
    journal can carry more than this table.
    """
    rows: dict[str, Record] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if DELETED in entry:
            rows.pop(str(entry[DELETED]), None)
            continue
        if entry.get("table", "articles") != "articles" or not all(c in entry for c in JOURNALED):
            continue
        values = {c: entry[c] for c in JOURNALED}
        try:
            for c in _JSON_COLUMNS:
                values[c] = json.loads(values[c]) if isinstance(values[c], str) else values[c]
            rows[values["key"]] = Record(**values)
        except (TypeError, ValueError):
            continue
    return rows


def atomic_write(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Temp file in the same folder (a dot name: Hexo skips it), then rename over the target."""
    tmp = path.parent / f".{path.name[:40]}.{os.getpid()}.tmp"
    try:
        try:
            fh = open(tmp, "wb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:  # the folder is new: made on demand, not stat'ed every write
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(tmp, "wb")  # noqa: SIM115
        with fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        crash_point("tmpwrite")  # test-only: a kill between the temp file and the rename
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
