"""The archive index: SQLite under ``<output>/.newsspider/`` plus an append-only journal.

The index answers "is this article archived, and where" in one indexed lookup, so a crawl's cost
does not grow with the archive. The journal (one JSON line per write) is the record the index can
be rebuilt from. WAL mode lets a ``fetch`` write while a crawl runs.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsspider.archive.fts import FLUSH_EVERY, FTS_SCHEMA, FTS_TRIGGERS, flush_pending, timestamp
from newsspider.archive.post import rfc1123
from newsspider.archive.postread import derived_fields
from newsspider.errors import ArchiveDamaged, UsageError
from newsspider.testhooks import crash_point, disk_write

logger = logging.getLogger(__name__)

STATE_DIR = ".newsspider"
INDEX_NAME = "index.sqlite3"
JOURNAL_NAME = "journal.jsonl"
#: ``PRAGMA user_version`` of the index this version writes. 0: an index from before versions
#: were recorded (upgraded on open, like 1); 1: the columns up to the derived ones; 2: ``template``.
#: An index with a higher number was written by a newer newsspider and is not opened.
SCHEMA_VERSION = 2
#: the first 16 bytes of every SQLite 3 database file
_SQLITE_MAGIC = b"SQLite format 3\x00"

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
    template TEXT NOT NULL DEFAULT '', -- the page-object family that extracted it (F, N, K...)
    -- derived from the post file, not journaled (postread.py): export and search read these
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
    "first_archived", "last_archived", "status", "reason", "attempts", "template", "headimg",
    "body", "text",
)  # fmt: skip
#: columns computed from the post's bytes: left out of the journal (the post is their record;
#: ``index check --repair`` recomputes them), so the journal stays small
DERIVED = ("headimg", "body", "text")
JOURNALED = tuple(c for c in COLUMNS if c not in DERIVED)
#: journaled columns added after the first release, with the value a journal line written
#: before them stands for (such a line is still a whole row)
JOURNAL_DEFAULTS: dict[str, Any] = {"template": ""}
#: columns added after the first release: an older index gets them on open
_ADDED = {"headimg": "TEXT NOT NULL DEFAULT ''", "body": "TEXT NOT NULL DEFAULT ''",
          "text": "TEXT NOT NULL DEFAULT ''", "ts": "INTEGER",
          "template": "TEXT NOT NULL DEFAULT ''"}  # fmt: skip
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
    template: str = ""
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
        # an index not yet upgraded (read-only by ``index check``) lacks the newer columns:
        # they keep their defaults
        values = {c: row[c] for c in COLUMNS if c in names}
        for c in _JSON_COLUMNS:
            values[c] = json.loads(values[c])
        return cls(**values)


class Index:
    """Thin, synchronous SQLite access. A crawl opens one (its archive context's) and shares
    it between its spider and pipelines: with a connection each, every write by one of them
    made the others drop their page cache and read the pages again (SQLite cannot tell its own
    process's writes from another's). They all run on the reactor thread, one statement at a
    time, so one connection serves them all."""

    def __init__(self, output: Path, *, rebuilding: bool = False) -> None:
        """Open (or create) the index of ``output``, refusing one that cannot be trusted.

        Every open checks that the file is an SQLite database as long as its header says, that
        its schema is one this version knows (``user_version``), and that it is not empty while
        the journal holds articles (a lost or emptied index would otherwise make the next crawl
        write every article a second time); it raises :class:`ArchiveDamaged` naming ``index
        check --repair``. ``rebuilding`` (that repair itself) skips the last check.
        """
        self.state = Path(output) / STATE_DIR
        self.state.mkdir(parents=True, exist_ok=True)
        self.db_path = self.state / INDEX_NAME
        self.journal_path = self.state / JOURNAL_NAME
        problem = file_problem(self.db_path)
        if problem:
            raise damaged(self.db_path, problem)
        self.db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        try:
            self.db.row_factory = sqlite3.Row
            problem = content_problem(self.db, self.journal_path, rebuilding=rebuilding)
            if problem:
                raise damaged(self.db_path, problem)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self._upgrade()
            self.flush()  # rows a killed process wrote but did not index (put off if no room)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            if is_disk_full(exc):
                raise UsageError(f"{self.db_path}: the disk is full; make room first") from None
            raise damaged(self.db_path, str(exc)) from None
        except BaseException:
            self.db.close()
            raise
        # one write(2) per line on an O_APPEND descriptor: lines from a crawl and a ``fetch``
        # beside it never interleave (O_APPEND keeps each call whole)
        try:
            self._journal_fd = os.open(
                self.journal_path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        except BaseException:
            self.db.close()
            raise
        #: the journal does not end in a newline (a write cut short by a full disk or a
        #: crash): the next line starts with one, so that only the torn line is lost
        self._torn = _ends_torn(self._journal_fd)
        #: group commit (:meth:`batch`): schedules a call at the engine's next tick; None
        #: commits every write on its own, as a command or a tool expects
        self._call_later: Callable[[Callable[[], None]], object] | None = None
        self._tick_due = False
        self._after: list[Callable[[BaseException | None], None]] = []

    # --- group commit ---
    def batch(self, call_later: Callable[[Callable[[], None]], object]) -> None:
        """From now on, group this connection's writes into one transaction per engine tick.

        Why: a crawl writes a claim, a row, two image claims and two image marks per article;
        a transaction each made SQLite lock, write its WAL frames and unlock six times an
        article (about 80 ``fcntl`` and 100 ``pwrite`` calls). ``call_later(fn)`` runs ``fn``
        once the engine has handled what is ready now (``reactor.callLater(0, fn)``); the
        first write after a commit opens the transaction and asks for that call, which commits
        everything written in between (:meth:`commit`). The crash rule holds because nothing
        that a row claims is created before the row is committed: writers stage a file under a
        temp name and rename it in an :meth:`after_commit` callback."""
        self._call_later = call_later

    @property
    def batching(self) -> bool:
        return self._call_later is not None

    def _begin(self) -> bool:
        """Open the batch's transaction for a write (True), or say there is no batch (False)."""
        if self._call_later is None:
            return False
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
        if not self._tick_due:
            self._tick_due = True
            self._call_later(self._tick)
        return True

    def after_commit(self, fn: Callable[[BaseException | None], None]) -> None:
        """Call ``fn(None)`` once everything written so far is committed (at once when it is,
        or when there is no batch), or ``fn(error)`` if that commit failed (then the batch's
        rows are rolled back: what ``fn`` would have made visible must not be)."""
        if self._call_later is None or not self.db.in_transaction:
            fn(None)
            return
        self._after.append(fn)
        if not self._tick_due:
            self._tick_due = True
            self._call_later(self._tick)

    def _tick(self) -> None:
        self._tick_due = False
        try:
            self.commit()
        except (OSError, sqlite3.Error) as exc:  # given to each waiting writer
            logger.debug("batch commit failed: %s", exc)

    def commit(self) -> None:
        """Commit the batch (its full-text rows too, every :data:`FLUSH_EVERY` writes), then
        run the callbacks that waited for it; a failed commit rolls back and hands them the
        error, and raises it."""
        error: BaseException | None = None
        if self.db.in_transaction and self._call_later is not None:
            try:
                if self._writes >= FLUSH_EVERY:
                    self._flush_in_batch()
                self.db.execute("COMMIT")
            except (OSError, sqlite3.Error) as exc:
                error = exc
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
        waiting, self._after = self._after, []
        for fn in waiting:
            fn(error)
        if error is not None:
            raise error

    def _flush_in_batch(self) -> None:
        """The full-text rows of the batch, in its transaction (a savepoint: a full disk puts
        the flush off, never the rows)."""
        self._writes = 0
        self.db.execute("SAVEPOINT fts_flush")
        try:
            flush_pending(self.db)
            self.db.execute("RELEASE fts_flush")
        except sqlite3.OperationalError as exc:
            self.db.execute("ROLLBACK TO fts_flush")
            self.db.execute("RELEASE fts_flush")
            if not is_disk_full(exc):
                raise
            logger.debug("full-text flush put off: %s", exc)

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
        if self.db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        refill = [c for c in missing if c in DERIVED or c == "ts"]
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
        if fts and not refill:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if not fts:
                self.db.execute(
                    "INSERT OR REPLACE INTO articles_fts(rowid, title, text) "
                    "SELECT rowid, title, text FROM articles"
                )
            if refill:
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

    def close(self) -> None:
        try:
            try:
                if self._call_later is not None:
                    self.commit()
            finally:
                self._call_later = None
            self.flush()
        finally:
            os.close(self._journal_fd)
            self.db.close()

    def flush(self) -> None:
        """Index the rows written since the last flush in the full-text table (one transaction
        for many articles: an FTS update and commit per article costs more than the row).

        On a full disk the rows stay noted in ``fts_pending`` (committed with them) and the
        next flush or open indexes them: nothing is lost, so that is not an error here."""
        self._writes = 0
        try:
            flush_pending(self.db)
        except sqlite3.OperationalError as exc:
            if not is_disk_full(exc):
                raise
            logger.debug("full-text flush put off: %s", exc)

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes >= FLUSH_EVERY and not self.db.in_transaction:
            self.flush()  # in a batch: at its commit

    def write(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        """One write statement: in the batch's transaction when there is one (see
        :meth:`batch`), else committed on its own."""
        self._begin()
        return self.db.execute(sql, params)

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
        self._journaled(
            "DELETE FROM articles WHERE key = ?", (key,), json.dumps({DELETED: key},
                                                                      ensure_ascii=False)
        )  # fmt: skip

    def put(self, rec: Record, *, journal: bool = True) -> None:
        """Write a row; with ``journal``, the row and its journal line together: when the line
        cannot be appended (a full disk) the row is rolled back and the error raised, so the
        index never holds a row its journal lacks."""
        row = rec.as_row()
        row["ts"] = timestamp(rec.published, rec.date)
        cols = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        sql = f"INSERT OR REPLACE INTO articles ({cols}) VALUES ({marks})"
        if not journal:
            self.write(sql, row)
            self._wrote()
            return
        line = {c: row[c] for c in JOURNALED}
        self._journaled(sql, row, json.dumps(line, ensure_ascii=False, sort_keys=True))

    def _journaled(self, sql: str, params: Any, line: str) -> None:
        """The statement and its journal line together, in the batch's transaction, the
        caller's, or one of its own; a savepoint takes back this row alone when its line
        cannot be appended (a full disk), and whatever encloses it goes on."""
        own = not self._begin() and not self.db.in_transaction
        if own:
            self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("SAVEPOINT journaled")
            try:
                self.db.execute(sql, params)
                self._append(line)
            except BaseException:
                self.db.execute("ROLLBACK TO journaled")
                raise
            finally:
                self.db.execute("RELEASE journaled")
            if own:
                self.db.execute("COMMIT")
        except BaseException:
            if own and self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self._wrote()

    def _append(self, line: str) -> None:
        """One journal line, in one ``write(2)`` (a short write, which only a full disk gives,
        is finished or raises; the next line then starts on a line of its own)."""
        data = (b"\n" if self._torn else b"") + line.encode("utf-8") + b"\n"
        disk_write(len(data))  # test-only: a simulated full disk
        self._torn = True
        view = memoryview(data)
        while view:
            written = os.write(self._journal_fd, view)
            view = view[written:]
        self._torn = False

    def journal(self, entry: dict[str, Any]) -> None:
        """Append a line of another table (``{"table": "images", ...}``) to the journal."""
        self._append(json.dumps(entry, ensure_ascii=False, sort_keys=True))

    def records(self) -> Iterator[Record]:
        for row in self.db.execute("SELECT * FROM articles ORDER BY key"):
            yield Record.from_row(row)

    def failed(self) -> list[Record]:
        """Articles whose last attempt failed (``index failed``; a crawl retries them)."""
        rows = self.db.execute("SELECT * FROM articles WHERE status = 'failed' ORDER BY key")
        return [Record.from_row(row) for row in rows.fetchall()]

    # --- outcomes: the two that are not a whole row (archive/records.py ArticleRecords) ---
    def mark_gone(self, key: str, reason: str, *, now: float | None = None) -> bool:
        """Sina no longer serves an archived article: its post stays, the index says ``gone``."""
        rec = self.get(key)
        if rec is None:
            return False
        rec.status = "gone"
        rec.reason = reason
        rec.last_archived = rec.last_archived or rfc1123(time.time() if now is None else now)
        self.put(rec)
        return True

    def mark_failed(self, key: str, url: str, channel: str, reason: str, *,
                    doc_id: str = "") -> Record | None:  # fmt: skip
        """An article that could not be fetched or extracted after its retries: the index says
        ``failed`` with the reason and how many runs tried, so ``index failed`` lists it and the
        next crawl retries it. A post already on disk is never demoted (returns ``None``)."""
        rec = self.get(key) or (self.by_url(url) if url else None)
        if rec is not None and rec.status in ("archived", "imported", "gone"):
            return None
        if rec is None:
            rec = Record(key=key, url=url, doc_id=doc_id, channel=channel, path=None)
        if rec.path and not (self.state.parent / rec.path).exists():
            rec.path = None  # a reservation left by a crash: nothing holds that name
        rec.url = rec.url or url
        rec.channel = rec.channel or channel
        rec.status, rec.reason, rec.attempts = "failed", reason, rec.attempts + 1
        self.put(rec)
        return rec


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Every whole line of a journal as JSON. A line that is not (cut by a crash or a full disk,
    even inside a multi-byte character) is skipped: the journal is appended one line per
    write, so a torn line is the only damage a crash can do, and it is the last write's."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with fh:
        for raw in fh:
            try:
                yield json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue


def journal_has_articles(path: Path) -> int:
    """How many article rows the journal at ``path`` describes (0 without a journal)."""
    try:
        if path.stat().st_size == 0:
            return 0
    except FileNotFoundError:
        return 0
    return len(replay_journal(read_journal(path)))


def _ends_torn(fd: int) -> bool:
    """Does the file open at ``fd`` end without a newline (its last line torn)?"""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def is_disk_full(exc: BaseException) -> bool:
    """A write refused for want of space or quota, from the OS or from SQLite (SQLITE_FULL)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.OperationalError) and (
            getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)
        ):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


#: a file a crawl keeps in the state folder only to give it back when the disk fills up, so
#: that the failures a full disk caused can still be recorded in the index and the journal
RESERVE_NAME = "space-reserve"
RESERVE_BYTES = 256 * 1024


def make_reserve(state: Path) -> bool:
    """Make sure ``state/space-reserve`` holds :data:`RESERVE_BYTES` (allocated, not sparse);
    False when the disk has no room for it (then nothing is left behind)."""
    path = state / RESERVE_NAME
    try:
        if path.stat().st_size == RESERVE_BYTES:
            return True
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return False
    try:
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
            os.pwrite(fd, bytes(RESERVE_BYTES), 0)
        os.ftruncate(fd, RESERVE_BYTES)
    except OSError:
        os.close(fd)
        path.unlink(missing_ok=True)
        return False
    os.close(fd)
    return True


def free_reserve(state: Path) -> bool:
    """Give the reserve's space back (a full disk); True if there was one."""
    try:
        (state / RESERVE_NAME).unlink()
    except FileNotFoundError:
        return False
    return True


#: why a write failed, by errno, and whether every later write would fail the same way (then a
#: crawl stops rather than fail every article it still has)
_FS_REASONS = {
    errno.EROFS: ("read-only file system", True),
    errno.ENAMETOOLONG: ("name too long", False),
    errno.EACCES: ("permission denied", False),
    errno.EPERM: ("permission denied", False),
    errno.ENOTDIR: ("a file is where a folder should be", False),
    errno.EISDIR: ("a folder is where a file should be", False),
}


def fs_failure(exc: BaseException) -> tuple[str, bool]:
    """``(reason, stop)`` for a write that failed: ``disk-full`` (ENOSPC, EDQUOT, SQLite's
    SQLITE_FULL) stops a crawl; so does a read-only file system or index; a name too long or a
    permission refused fails the one article. The reason is one short line, never a dump."""
    if is_disk_full(exc):
        return "disk-full", True
    if isinstance(exc, OSError):
        known = _FS_REASONS.get(exc.errno or 0)
        if known:
            return known
        return (exc.strerror or str(exc))[:200], False
    if isinstance(exc, sqlite3.Error):
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            return "read-only index", True
        return f"index error: {text[:200]}", False
    return f"{type(exc).__name__}: {str(exc)[:200]}", False


def damaged(db_path: Path, why: str) -> ArchiveDamaged:
    """The one-line refusal for an index that cannot be trusted."""
    output = db_path.parent.parent
    why = " ".join(why.split())[:200]
    return ArchiveDamaged(
        f"the archive index {db_path} is damaged ({why}); nothing was done. Rebuild it from the "
        f"posts and the journal with: newsspider index check --repair -o {output}"
    )


def file_problem(db_path: Path) -> str:
    """What is wrong with the index file itself, read without SQLite ("" if nothing): not an
    SQLite database at all (garbage), or shorter than its header says (truncated). A 0-byte
    file is a valid empty database to SQLite; :func:`content_problem` judges that one."""
    try:
        with open(db_path, "rb") as fh:
            header = fh.read(100)
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        return ""
    except IsADirectoryError:
        return "it is a folder, not a file"
    if size == 0:
        return ""
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return "not an SQLite database"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = pages > 0 and header[24:28] == header[92:96]
    if page_size < 512 or page_size & (page_size - 1):
        return "not an SQLite database (bad page size)"
    if valid and size < pages * page_size and not _wal_frames(db_path):
        # with frames in the WAL the file may be mid-checkpoint (page 1 copied, the file not
        # grown yet: a disk that filled up does that), which SQLite recovers from the WAL
        return f"truncated: {size} bytes of the {pages * page_size} its header announces"
    return ""


def _wal_frames(db_path: Path) -> bool:
    """Does the index have a write-ahead log with frames in it (more than its 32-byte header)?"""
    try:
        return os.stat(f"{db_path}-wal").st_size > 32
    except FileNotFoundError:
        return False


def content_problem(db: sqlite3.Connection, journal_path: Path, *, rebuilding: bool = False,
                    deep: bool = False) -> str:  # fmt: skip
    """What is wrong with an open index ("" if nothing): a schema newer than this version's,
    an index without articles while the journal holds some, and (``deep``, a crawl's start)
    what SQLite's ``quick_check`` finds."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION or version < 0:
        return (f"schema version {version}; this newsspider reads {SCHEMA_VERSION} and older: "
                "written by a newer newsspider, or not its index")  # fmt: skip
    has_table = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'articles'"
    ).fetchone()
    if version > 0 and not has_table:
        return f"schema version {version} but no articles table"
    if not rebuilding:
        empty = not has_table or db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None
        if empty:
            held = journal_has_articles(journal_path)
            if held and (not has_table or _empty_once_written(db)):
                return f"it holds no article while its journal holds {held}"
    if deep:
        rows = [r[0] for r in db.execute("PRAGMA quick_check(5)").fetchall()]
        if rows != ["ok"]:
            return "quick_check: " + "; ".join(str(r) for r in rows)
    return ""


def _empty_once_written(db: sqlite3.Connection) -> bool:
    """Is ``articles`` still empty once a writer in the middle of a transaction has committed?

    :meth:`Index.put` appends the journal line inside the transaction that writes the row, so a
    process opening the index at that moment sees the line a moment before the row; taking the
    write lock (the busy timeout waits for that writer) and looking again tells a first write
    in flight from a lost index. A read-only connection cannot take it: what it saw stands."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    try:
        return db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None
    finally:
        db.execute("ROLLBACK")


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
        if entry.get("table", "articles") != "articles" or not all(
            c in entry or c in JOURNAL_DEFAULTS for c in JOURNALED
        ):
            continue
        values: dict[str, Any] = {c: entry.get(c, JOURNAL_DEFAULTS.get(c)) for c in JOURNALED}
        try:
            for c in _JSON_COLUMNS:
                values[c] = json.loads(values[c]) if isinstance(values[c], str) else values[c]
            rows[values["key"]] = Record(**values)
        except (TypeError, ValueError):
            continue
    return rows


#: this process's id, for temp file names (read once, and again in a forked child)
_PID = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))
#: numbers the temp files of this process (thread-safe: ``next`` on a count holds the GIL)
_SEQ = itertools.count()


def temp_path(path: Path) -> Path:
    """The temp name a writer of ``path`` uses: a dot name (Hexo skips it) with the writer's
    pid (the sweep at a crawl's start leaves a live writer's alone). The name is cut to keep
    the temp name short; a CRC of the whole name and a number of this process keep files
    staged at once apart (two posts whose titles begin alike, one article under two URLs)."""
    name = path.name
    crc = zlib.crc32(name.encode())
    return path.parent / f".{name[:40]}-{crc:08x}-{next(_SEQ)}.{_PID[0]}.tmp"


def write_temp(path: Path, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` under :func:`temp_path` of ``path`` (the folder made when it is new);
    the caller renames it over ``path`` (:func:`finish_temp`) or removes it."""
    tmp = temp_path(path)
    try:
        try:
            fh = open(tmp, "wb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:  # the folder is new: made on demand, not stat'ed every write
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(tmp, "wb")  # noqa: SIM115
        with fh:
            disk_write(len(data))  # test-only: a simulated full disk
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def finish_temp(tmp: Path, path: Path) -> None:
    """Rename a temp file :func:`write_temp` wrote over ``path`` (removed if that fails)."""
    try:
        crash_point("tmpwrite")  # test-only: a kill between the temp file and the rename
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Temp file in the same folder (a dot name: Hexo skips it), then rename over the target."""
    finish_temp(write_temp(path, data, fsync=fsync), path)
