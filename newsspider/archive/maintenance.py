"""Keeping the index honest: check it against the posts on disk, rebuild it, adopt old posts.

The index is a cache of the journal plus what is on disk; these are the tools that prove it and
put it right (``newsspider index check [--repair]``, ``newsspider index import``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from newsspider.archive.channels import Channel, ChannelError, _check_folder_name
from newsspider.archive.fulltext import fts_problems
from newsspider.archive.index import STATE_DIR, Index, Record, atomic_write, replay_journal
from newsspider.archive.post import rfc1123

#: an imported post has no URL and, until a crawl reaches it, no doc id: keyed by its path
IMPORT_PREFIX = "import:"
#: statuses ``--repair`` sets on purpose: not problems, just work for the next crawl
AWAITING_REFETCH = frozenset({"missing", "stale"})


@dataclass(frozen=True)
class Problem:
    """One disagreement between the index, the journal and the posts on disk."""

    #: missing | orphaned | hash | journal | pending | unreadable | search (full-text table)
    kind: str
    path: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class FrontMatter:
    title: str
    categories: list[str]
    date: str


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    #: (source file, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _unbrace(text: str) -> str:
    return text.replace("&#123;", "{").replace("&#125;", "}")


def read_front_matter(data: bytes) -> FrontMatter:
    """Title, categories and date of a post in the archive format.

    YAML first; the original generator wrote some titles that are not valid YAML (a ``'`` and a
    ``"`` unescaped), so a line-by-line reading is the fallback.
    """
    text = data.decode("utf-8-sig")
    m = re.match(r"\s*---\n(.*?)\n---\n", text, re.DOTALL)
    if not m:
        raise ValueError("no front matter (--- block) at the start")
    block = m.group(1)
    try:
        meta = yaml.safe_load(block)
        if not isinstance(meta, dict):
            raise ValueError("front matter is not a mapping")
        cats = meta.get("categories") or []
        if isinstance(cats, str):
            cats = [cats]
        return FrontMatter(
            title=_unbrace(str(meta.get("title") or "")),
            categories=[_unbrace(str(c)) for c in cats],
            date=str(meta.get("date") or ""),
        )
    except yaml.YAMLError:
        pass
    title = re.search(r"^title: ?(.*)$", block, re.MULTILINE)
    date = re.search(r"^date: ?(.*)$", block, re.MULTILINE)
    cats_block = re.search(r"^categories: ?\n((?: +- .*\n?)+)", block, re.MULTILINE)
    cats = re.findall(r"^ +- (.*)$", cats_block.group(1), re.MULTILINE) if cats_block else []
    raw_title = title.group(1).strip() if title else ""
    if len(raw_title) >= 2 and raw_title[0] == raw_title[-1] and raw_title[0] in "'\"":
        raw_title = raw_title[1:-1]
    return FrontMatter(
        _unbrace(raw_title),
        [_unbrace(c.strip().strip("'")) for c in cats],
        date.group(1).strip() if date else "",
    )


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
    stamp = rfc1123(now)
    try:
        fm = read_front_matter(data)
    except (ValueError, UnicodeDecodeError):
        fm = FrontMatter("", [], "")
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


def import_posts(
    source: Path, output: Path, channels: dict[str, Channel], *, now: float | None = None
) -> ImportReport:
    """Adopt posts already in the archive format into ``output``'s index.

    Each post goes to ``_posts/<its own categories>/<its file name>`` (copied there unless it is
    already that file), byte for byte, and gets an ``imported`` record: no URL, keyed by path.
    A crawl that later reaches the same article finds it by file name (``Archive.save``).
    """
    now = time.time() if now is None else now
    report = ImportReport()
    index = Index(output)
    try:
        for src in sorted(source.rglob("*.md")):
            rel_src = src.relative_to(source)
            if any(part.startswith(".") for part in rel_src.parts) or not src.is_file():
                continue
            data = src.read_bytes()
            try:
                fm = read_front_matter(data)
                if len(fm.categories) < 1:
                    raise ValueError("no categories in the front matter")
                for c in fm.categories:
                    _check_folder_name(src.name, c)
            except (ValueError, UnicodeDecodeError, ChannelError) as exc:
                report.skipped.append((str(src), str(exc)))
                continue
            path = "/".join(("_posts", *fm.categories, src.name))
            target = output / path
            holder = index.by_path(path)
            if holder is not None:
                if holder.content_hash == sha256(data):
                    report.already.append(path)
                else:
                    report.skipped.append((str(src), f"{path} is already archived as {holder.key}"))
                continue
            if target.exists():
                if target.resolve() != src.resolve() and target.read_bytes() != data:
                    report.skipped.append((str(src), f"{path} exists with other content"))
                    continue
            else:
                atomic_write(target, data)
            index.put(_imported_record(path, data, channels, now))
            report.imported.append(path)
    finally:
        index.close()
    return report


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
    journal = state / "journal.jsonl"
    if not journal.exists():
        return {}

    def entries() -> Iterator[dict[str, Any]]:
        with open(journal, encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue

    return replay_journal(entries())


def check(output: Path) -> list[Problem]:
    """Every way the index, its journal and the posts disagree; empty when all is well."""
    state = output / STATE_DIR
    db_path = state / "index.sqlite3"
    problems: list[Problem] = []
    if not db_path.exists():
        rows: dict[str, Record] = {}
        if _post_files(output):
            problems.append(Problem("unreadable", str(db_path), "no index"))
    else:
        read = _rows_from_db(db_path)
        if read is None:
            return [Problem("unreadable", str(db_path), "not a readable SQLite index")]
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


def repair(output: Path, channels: dict[str, Channel], *, now: float | None = None) -> list[str]:
    """Rebuild the index from the journal, then square it with the posts on disk.

    A post that is gone from disk is marked ``missing`` (a crawl re-fetches it); a post whose
    bytes changed is marked ``stale`` (re-fetched too) or, for an imported post that has no URL
    to fetch, takes the hash of what is on disk; a post the index does not know is adopted like
    an imported one. The old index file is kept beside the new one as ``index.sqlite3.bak``.
    Returns one line per change.
    """
    now = time.time() if now is None else now
    state = output / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    db_path = state / "index.sqlite3"
    notes: list[str] = []
    journal_exists = (state / "journal.jsonl").exists()
    rows = _journal_rows(state)
    old = _rows_from_db(db_path) if db_path.exists() else None
    if old is not None and not journal_exists:
        rows = {k: r for k, r in old.items() if r.status != "pending"}
        notes.append("no journal: rows kept from the index")
    if db_path.exists():
        os.replace(db_path, state / "index.sqlite3.bak")
        notes.append(f"old index moved to {STATE_DIR}/index.sqlite3.bak")
    for suffix in ("-wal", "-shm"):
        (state / f"index.sqlite3{suffix}").unlink(missing_ok=True)

    on_disk = _post_files(output)
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
    held = {rec.path for rec in rows.values() if rec.path}
    index = Index(output)
    try:
        for rec in rows.values():
            # rows kept from an index without a journal start a new journal
            index.put(rec, journal=not journal_exists)
        for rec in changed:
            index.put(rec)
        for path in sorted(set(on_disk) - held):
            index.put(_imported_record(path, on_disk[path].read_bytes(), channels, now))
            notes.append(f"adopted as imported: {path}")
    finally:
        index.close()
    return notes
