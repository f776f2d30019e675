"""Keeping the index honest: check it against the posts on disk, rebuild it, adopt old posts.

The index is a cache of the journal plus what is on disk; these are the tools that prove it and
put it right (``newsspider index check [--repair]``, ``newsspider index import``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsspider.archive.channels import Channel, ChannelError, _check_folder_name
from newsspider.archive.fts import fts_problems
from newsspider.archive.index import (
    DELETED,
    INDEX_NAME,
    JOURNAL_NAME,
    STATE_DIR,
    Index,
    Record,
    atomic_write,
    content_problem,
    file_problem,
    is_disk_full,
    read_journal,
    replay_journal,
)
from newsspider.archive.post import rfc1123
from newsspider.archive.postread import FrontMatter, PostUnreadable, read_front_matter
from newsspider.archive.runstate import stale_temp_files

#: a path component may be at most this many bytes on the file systems the archive lives on
MAX_COMPONENT_BYTES = 255
#: and a whole path this many (Linux's PATH_MAX, less room for the output folder itself)
MAX_RELATIVE_PATH_BYTES = 3000

__all__ = ["FrontMatter", "check", "import_posts", "read_front_matter", "repair"]

#: an imported post has no URL and, until a crawl reaches it, no doc id: keyed by its path
IMPORT_PREFIX = "import:"
#: statuses ``--repair`` sets on purpose: not problems, just work for the next crawl
AWAITING_REFETCH = frozenset({"missing", "stale"})


@dataclass(frozen=True)
class Problem:
    """One disagreement between the index, the journal and the posts on disk."""

    #: missing | orphaned | hash | journal | pending | unreadable | damaged | search (full-text
    #: table) | temp (a temp file its dead writer left) | unrecorded (failures a full disk kept
    #: out of the index, waiting for the next crawl)
    kind: str
    path: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    #: (source file, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _channel_for(categories: list[str], channels: dict[str, Channel]) -> str:
    for ch in channels.values():
        if list(ch.categories) == categories:
            return ch.key
    return ""


def _post_files(root: Path) -> dict[str, Path]:
    """Every post under ``_posts/`` by its output-relative path; dot names (temp files) skipped."""
    posts = root / "_posts"
    found: dict[str, Path] = {}
    if not posts.is_dir():
        return found
    for path in posts.rglob("*.md"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        found[rel.as_posix()] = path
    return found


def _imported_record(path: str, data: bytes, channels: dict[str, Channel], now: float) -> Record:
    """The ``imported`` row of a post; :class:`PostUnreadable` when it is not a post at all
    (no front matter, no categories): such a file is reported, never adopted."""
    stamp = rfc1123(now)
    fm = read_front_matter(data)
    if not fm.categories:
        raise PostUnreadable("no categories in the front matter")
    rec = Record(
        key=IMPORT_PREFIX + path,
        path=path,
        channel=_channel_for(fm.categories, channels),
        content_hash=sha256(data),
        date=fm.date,
        title=fm.title,
        first_archived=stamp,
        last_archived=stamp,
        status="imported",
    )
    rec.set_derived(data)
    return rec


def _import_path(src: Path, fm: FrontMatter) -> str:
    """Where an imported post goes, or ``ValueError``/``ChannelError`` saying why it cannot go
    anywhere (a category that is no folder name, a name or a path too long for the disk)."""
    if not fm.categories:
        raise PostUnreadable("no categories in the front matter")
    for c in fm.categories:
        _check_folder_name(src.name, c)
    if len(src.name.encode("utf-8")) > MAX_COMPONENT_BYTES:
        raise ValueError(f"file name longer than {MAX_COMPONENT_BYTES} bytes")
    path = "/".join(("_posts", *fm.categories, src.name))
    if len(path.encode("utf-8")) > MAX_RELATIVE_PATH_BYTES:
        raise ValueError(
            f"category path too long ({len(fm.categories)} categories, "
            f"{len(path.encode('utf-8'))} bytes; at most {MAX_RELATIVE_PATH_BYTES})"
        )
    return path


def import_posts(
    source: Path, output: Path, channels: dict[str, Channel], *, now: float | None = None
) -> ImportReport:
    """Adopt posts already in the archive format into ``output``'s index.

    Each post goes to ``_posts/<its own categories>/<its file name>`` (copied there unless it is
    already that file), byte for byte, and gets an ``imported`` record: no URL, keyed by path.
    A crawl that later reaches the same article finds it by file name (``Archive.save``).
    A file that cannot be imported (not a post, a category path the disk cannot hold, a file
    that cannot be read or written) is reported in ``skipped`` with its reason and the rest
    are imported; a full disk stops the import (every later post would fail the same way).
    """
    now = time.time() if now is None else now
    report = ImportReport()
    index = Index(output)
    try:
        for src in sorted(source.rglob("*.md")):
            rel_src = src.relative_to(source)
            if any(part.startswith(".") for part in rel_src.parts) or not src.is_file():
                continue
            try:
                _import_one(src, output, index, channels, now, report)
            except (ValueError, ChannelError) as exc:
                report.skipped.append((str(src), str(exc)))
            except OSError as exc:
                if is_disk_full(exc):
                    raise
                report.skipped.append((str(src), os_reason(exc)))
    finally:
        index.close()
    return report


def _import_one(src: Path, output: Path, index: Index, channels: dict[str, Channel], now: float,
                report: ImportReport) -> None:  # fmt: skip
    data = src.read_bytes()
    fm = read_front_matter(data)
    path = _import_path(src, fm)
    target = output / path
    holder = index.by_path(path)
    if holder is not None:
        if holder.content_hash == sha256(data):
            report.already.append(path)
        else:
            report.skipped.append((str(src), f"{path} is already archived as {holder.key}"))
        return
    if target.exists():
        if target.resolve() != src.resolve() and target.read_bytes() != data:
            report.skipped.append((str(src), f"{path} exists with other content"))
            return
    else:
        atomic_write(target, data)
    index.put(_imported_record(path, data, channels, now))
    report.imported.append(path)


def os_reason(exc: OSError) -> str:
    """A one-line reason for a failed file operation (no path dump of a 4 KB name)."""
    text = exc.strerror or type(exc).__name__
    return f"cannot write: {text}" if exc.errno is not None else str(exc)[:200]


def _rows_from_db(db_path: Path) -> dict[str, Record] | None:
    """The index's rows, or ``None`` when the file is not a readable index."""
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            rows = db.execute("SELECT * FROM articles").fetchall()
        finally:
            db.close()
        return {row["key"]: Record.from_row(row) for row in rows}
    except (sqlite3.DatabaseError, ValueError, KeyError, IndexError):
        return None


def _search_problems(db_path: Path) -> list[str]:
    """What the full-text table gets wrong (``--repair`` rebuilds it with the index)."""
    if not db_path.exists():
        return []
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return fts_problems(db)
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return [f"<index>: {exc}"]


def _journal_rows(state: Path) -> dict[str, Record]:
    return replay_journal(read_journal(state / JOURNAL_NAME))


def index_damage(output: Path) -> str:
    """Why the index of ``output`` cannot be trusted ("" when it can, or there is none yet):
    what every open refuses (:class:`~newsspider.archive.index.Index`), plus ``quick_check``."""
    state = output / STATE_DIR
    db_path = state / INDEX_NAME
    problem = file_problem(db_path)
    if problem or not db_path.exists():
        if not problem and _journal_rows(state):
            problem = "missing while its journal holds articles"
        return problem
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return content_problem(db, state / JOURNAL_NAME, deep=True)
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)


def check(output: Path) -> list[Problem]:
    """Every way the index, its journal and the posts disagree; empty when all is well."""
    state = output / STATE_DIR
    db_path = state / INDEX_NAME
    problems: list[Problem] = []
    for temp in stale_temp_files(output):
        where = temp.relative_to(output).as_posix()
        problems.append(Problem("temp", where, "left by a killed writer; --repair removes it"))
    unrecorded = state / "unrecorded.jsonl"
    if unrecorded.is_file() and unrecorded.stat().st_size:
        count = len(unrecorded.read_bytes().splitlines())
        problems.append(Problem("unrecorded", unrecorded.relative_to(output).as_posix(),
                                f"{count} failure(s) a full disk kept out of the index; the "
                                "next crawl records them"))  # fmt: skip
    damage = index_damage(output)
    if damage:
        why = f"{damage}; rebuild it with newsspider index check --repair"
        problems.append(Problem("damaged", str(db_path), why))
    if not db_path.exists():
        rows: dict[str, Record] = {}
        if _post_files(output) and not damage:
            problems.append(Problem("unreadable", str(db_path), "no index"))
    else:
        read = _rows_from_db(db_path)
        if read is None:
            # cannot be read at all: one line says so (and what to do), not one per post
            why = damage or "not a readable SQLite index"
            problems = [p for p in problems if p.kind != "damaged"]
            why = f"damaged: {why}; rebuild it with newsspider index check --repair"
            problems.append(Problem("unreadable", str(db_path), why))
            return problems
        rows = read
    held: set[str] = set()
    for rec in rows.values():
        if not rec.path:
            continue
        held.add(rec.path)
        if rec.status == "pending":
            problems.append(Problem("pending", rec.path, f"{rec.key}: write never finished"))
            continue
        target = output / rec.path
        if not target.is_file():
            if rec.status not in AWAITING_REFETCH:
                problems.append(Problem("missing", rec.path, f"{rec.key}: post not on disk"))
            continue
        if rec.status not in AWAITING_REFETCH and sha256(target.read_bytes()) != rec.content_hash:
            problems.append(Problem("hash", rec.path, f"{rec.key}: content hash mismatch"))
    for path in sorted(set(_post_files(output)) - held):
        problems.append(Problem("orphaned", path, "post not in the index"))
    for what in _search_problems(db_path):
        problems.append(Problem("search", what, "full-text index disagrees with the row"))
    journal = _journal_rows(state)
    for key in sorted(set(journal) | {k for k, r in rows.items() if r.status != "pending"}):
        in_index, in_journal = rows.get(key), journal.get(key)
        where = (in_index or in_journal).path or key  # type: ignore[union-attr]
        if in_index is None:
            problems.append(Problem("journal", where, f"{key}: in the journal, not in the index"))
        elif in_journal is None:
            problems.append(Problem("journal", where, f"{key}: in the index, not in the journal"))
        elif in_index.journal_row() != in_journal.journal_row():
            problems.append(Problem("journal", where, f"{key}: index row differs from journal"))
    return problems


def _journal_deleted(state: Path) -> set[str]:
    """Keys whose last journal line deletes them (a repair must not bring them back)."""
    deleted: set[str] = set()
    for entry in read_journal(state / JOURNAL_NAME):
        if not isinstance(entry, dict):
            continue
        if DELETED in entry:
            deleted.add(str(entry[DELETED]))
        elif isinstance(entry.get("key"), str):
            deleted.discard(entry["key"])
    return deleted


def _journal_images(state: Path) -> dict[str, dict[str, Any]]:
    """The ``images`` rows the journal describes (the last line per URL)."""
    rows: dict[str, dict[str, Any]] = {}
    for entry in read_journal(state / JOURNAL_NAME):
        if isinstance(entry, dict) and entry.get("table") == "images" and entry.get("url"):
            rows[str(entry["url"])] = entry
    return rows


def _restore_images(index: Index, rows: dict[str, dict[str, Any]]) -> int:
    """Put the journal's image rows back, so that an image on disk keeps its path (and is not
    downloaded a second time under a suffixed name)."""
    restored = 0
    for url, row in rows.items():
        path = row.get("path") or None
        try:
            index.db.execute(
                "INSERT OR REPLACE INTO images (url, path, path_key, status, attempts, reason, "
                "bytes, format, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')",
                (url, path, str(path).lower() if path else None, str(row.get("status") or
                 "pending"), int(row.get("attempts") or 0), str(row.get("reason") or ""),
                 int(row.get("bytes") or 0), str(row.get("format") or "")),
            )  # fmt: skip
        except (sqlite3.IntegrityError, TypeError, ValueError):
            continue
        restored += 1
    return restored


def repair(output: Path, channels: dict[str, Channel], *, now: float | None = None) -> list[str]:
    """Rebuild the index from the journal, then square it with the posts on disk.

    The rows are the journal's (a torn line, even one cut inside a character, is skipped);
    rows a still-readable old index holds and the journal lacks are kept too. A post that is
    gone from disk is marked ``missing`` (a crawl re-fetches it); a post whose bytes changed is
    marked ``stale`` (re-fetched too, rewritten at the same path) or, for an imported post that
    has no URL to fetch, takes the hash of what is on disk; a post the index does not know is
    adopted like an imported one, and a ``.md`` file that is no post (no front matter) is
    reported, not adopted. No post is ever written here, so none can be written twice. Temp
    files a killed writer left are removed. The old index file is kept beside the new one as
    ``index.sqlite3.bak``. Returns one line per change.
    """
    now = time.time() if now is None else now
    state = output / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    db_path = state / INDEX_NAME
    notes: list[str] = []
    journal_exists = (state / JOURNAL_NAME).exists()
    rows = _journal_rows(state)
    images = _journal_images(state)
    old = _rows_from_db(db_path) if db_path.exists() else None
    if old is not None:
        deleted = _journal_deleted(state)
        kept = {k: r for k, r in old.items()
                if r.status != "pending" and k not in rows and k not in deleted}  # fmt: skip
        if kept:
            notes.append(f"{len(kept)} row(s) the journal lacks kept from the old index")
        fresh = set(kept)
        rows.update(kept)
    else:
        fresh = set()
    for temp in stale_temp_files(output):
        temp.unlink(missing_ok=True)
        notes.append(f"removed a temp file a killed writer left: {temp.relative_to(output)}")
    backup = db_path.exists()
    for suffix in ("", "-wal", "-shm"):  # the WAL goes with its file: it holds its latest pages
        current = state / f"{INDEX_NAME}{suffix}"
        if backup:
            if current.exists():
                os.replace(current, state / f"{INDEX_NAME}.bak{suffix}")
            else:
                (state / f"{INDEX_NAME}.bak{suffix}").unlink(missing_ok=True)
        else:
            current.unlink(missing_ok=True)
    if backup:
        notes.append(f"old index moved to {STATE_DIR}/{INDEX_NAME}.bak")
    try:
        _rebuild(output, rows, changed_in(output, rows, notes), fresh, journal_exists, images,
                 channels, now, notes)  # fmt: skip
    except BaseException:
        # a rebuild cut short (a full disk) must not leave a partial index that the next run
        # would trust: the old one goes back where it was, as it was
        for suffix in ("", "-wal", "-shm"):
            (state / f"{INDEX_NAME}{suffix}").unlink(missing_ok=True)
            old_file = state / f"{INDEX_NAME}.bak{suffix}"
            if backup and old_file.exists():
                os.replace(old_file, state / f"{INDEX_NAME}{suffix}")
        raise
    return notes


def changed_in(output: Path, rows: dict[str, Record], notes: list[str]) -> list[Record]:
    """Square the rows with the posts on disk (see :func:`repair`); the rows that changed."""
    changed: list[Record] = []
    for rec in rows.values():
        if not rec.path:
            continue
        target = output / rec.path
        if not target.is_file():
            if rec.status not in AWAITING_REFETCH:
                rec.status, rec.reason = "missing", "post missing on disk: to be re-fetched"
                changed.append(rec)
                notes.append(f"missing, marked for re-fetch: {rec.path}")
            continue
        data = target.read_bytes()
        rec.set_derived(data)  # the derived columns are not journaled: taken from the post
        digest = sha256(data)
        if digest != rec.content_hash:
            if rec.url:
                rec.status, rec.reason = "stale", "post changed on disk: to be re-fetched"
                notes.append(f"changed on disk, marked for re-fetch: {rec.path}")
            else:
                rec.content_hash = digest
                notes.append(f"changed on disk, hash taken from the file: {rec.path}")
            changed.append(rec)
    return changed


def _rebuild(output: Path, rows: dict[str, Record], changed: list[Record], fresh: set[str],
             journal_exists: bool, images: dict[str, dict[str, Any]],
             channels: dict[str, Channel], now: float, notes: list[str]) -> None:  # fmt: skip
    """Write the new index: the rows, the image rows, and the posts nobody holds, adopted."""
    on_disk = _post_files(output)

    held = {rec.path for rec in rows.values() if rec.path}
    index = Index(output, rebuilding=True)
    try:
        for rec in rows.values():
            # rows kept from the old index (not in the journal) are journaled now
            index.put(rec, journal=not journal_exists or rec.key in fresh)
        for rec in changed:
            index.put(rec)
        if images:
            notes.append(f"{_restore_images(index, images)} image row(s) restored")
        for path in sorted(set(on_disk) - held):
            try:
                rec = _imported_record(path, on_disk[path].read_bytes(), channels, now)
            except (PostUnreadable, OSError) as exc:
                notes.append(f"not adopted (not a post: {exc}): {path}")
                continue
            index.put(rec)
            notes.append(f"adopted as imported: {path}")
    finally:
        index.close()
