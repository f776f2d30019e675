"""Is this output folder usable? Checked once, before the first request (exit 2 if not).

A crawl into a folder it cannot write, or onto an index it cannot trust, used to find out one
article at a time (a traceback each) or not at all (a lost index made every article look new,
and each was written a second time). :func:`check_output` finds out at the start, with one line
saying what is wrong and what to do. The ``newsspider`` commands call it while validating their
options; the pipelines call it again where they open the archive, so ``scrapy crawl`` and
Scrapyd refuse too (the second call in one process does not run ``quick_check`` again on an
unchanged index: see ``_quick_checked``).

Scrapy-free: the CLI imports it before Scrapy is loaded.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path

from newsspider.archive.index import (
    INDEX_NAME,
    JOURNAL_NAME,
    STATE_DIR,
    content_problem,
    damaged,
    file_problem,
    journal_has_articles,
)
from newsspider.errors import UsageError

#: index files ``quick_check`` passed in this process, by (resolved path, size, mtime): the
#: CLI's check and the pipelines' read a large index once, not twice
_quick_checked: set[tuple[Path, int, int]] = set()


def check_output(output: str | os.PathLike[str], *, deep: bool) -> None:
    """Raise :class:`~newsspider.errors.UsageError` (or its :class:`ArchiveDamaged`) with a
    one-line message unless ``output`` can take an archive.

    - it exists and is a folder, or can be created: no file where it or a parent should be;
    - it is writable (probed with a real file: permissions, read-only mounts and ACLs all
      answer), and so are its ``.newsspider``, ``_posts`` and ``images`` folders if present;
      its disk has at least :data:`MIN_FREE_BYTES` free;
    - its index, if present, is sane: an SQLite file as long as its header says, a schema this
      version knows, not empty while the journal holds articles (nor missing while it does);
      with ``deep`` (a crawl's start) also SQLite's ``quick_check``.

    Nothing is created or changed (the probe file is removed at once).
    """
    path = Path(output)
    shown = str(output)
    existing = _nearest_existing(path)
    if existing is None:
        raise UsageError(f"--output {shown}: no part of that path exists or can be reached")
    if not existing.is_dir():
        where = "" if existing == path else f" ({existing} is a file)"
        raise UsageError(
            f"--output {shown}: a file is where the output folder should be{where}; name a folder"
        )
    _probe(existing, shown)
    if existing == path:
        for sub in (STATE_DIR, "_posts", "images"):
            folder = path / sub
            if folder.exists() and not folder.is_dir():
                raise UsageError(f"--output {shown}: {folder} is a file, not a folder")
            if folder.is_dir():
                _probe(folder, shown)
        _check_index(path / STATE_DIR, deep=deep)
    _check_space(existing, shown)


#: less free space than this at the start is a full disk: nothing could be written
MIN_FREE_BYTES = 64 * 1024


def _check_space(folder: Path, shown: str) -> None:
    """A disk already full before the first request: exit 2 now, rather than every article
    failing one by one (a disk that fills up during the crawl is the crawl's ``disk-full``)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    if free < MIN_FREE_BYTES:
        raise UsageError(
            f"--output {shown}: the disk is full ({free // 1024} KB free); make room first"
        )


def _nearest_existing(path: Path) -> Path | None:
    """``path`` or its nearest parent that exists (following symlinks)."""
    current = path.absolute()
    while True:
        try:
            os.stat(current)
            return current
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            # a parent in the way is a file: report that parent
            pass
        except OSError:
            return None
        if current.parent == current:
            return None
        current = current.parent


def _probe(folder: Path, shown: str) -> None:
    """Create and remove one file in ``folder``: the only test every kind of read-only
    (permissions, ``chattr``, a read-only mount, a full quota) answers truthfully. The name is
    a temp-file name, so a probe a kill interrupted is swept like any other temp file."""
    probe = folder / f".newsspider-probe.{os.getpid()}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return  # our own leftover: the folder took a file
    except OSError as exc:
        raise UsageError(f"--output {shown}: {folder} {_why(exc)}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        probe.unlink()


def _why(exc: OSError) -> str:
    if exc.errno in (errno.EROFS,):
        return "is on a read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "is not writable (read-only)"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "is on a full disk (no space left)"
    if exc.errno == errno.ENOTDIR:
        return "is not a folder"
    return f"cannot be written: {exc.strerror or exc}"


def _check_index(state: Path, *, deep: bool) -> None:
    db_path = state / INDEX_NAME
    journal = state / JOURNAL_NAME
    problem = file_problem(db_path)
    if not problem and not db_path.exists():
        held = journal_has_articles(journal)
        if held:
            problem = f"missing while its journal holds {held} article(s)"
    if problem:
        raise damaged(db_path, problem)
    if not db_path.exists():
        return
    for name in (INDEX_NAME, f"{INDEX_NAME}-wal", JOURNAL_NAME):
        target = state / name
        if target.exists() and not os.access(target, os.W_OK):
            raise UsageError(f"--output {state.parent}: {target} is not writable (read-only)")
    st = db_path.stat()
    key = (db_path.resolve(), st.st_size, st.st_mtime_ns)
    deep = deep and key not in _quick_checked
    try:
        db = sqlite3.connect(db_path, timeout=30)
        try:
            problem = content_problem(db, journal, deep=deep)
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        problem = str(exc)
    if problem:
        raise damaged(db_path, problem)
    if deep:
        _quick_checked.add(key)
