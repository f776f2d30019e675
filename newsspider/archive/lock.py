"""One crawler per output folder: an OS-level lock on ``<output>/.newsspider/crawl.lock``.

Two crawls (or two schedulers) writing one archive would each decide "not archived yet" for the
same article and race for the same post path. The lock is ``fcntl.flock`` on a file, never "the
file exists": the kernel drops it when the holding process dies, even on ``kill -9``, so a
crashed crawl never blocks the next one and nobody has to delete a stale lock by hand.

The file's content (pid, command, start time) is only there for the refusal message.

``newsspider schedule`` holds the lock for its whole life and runs each round in a child
process; the child inherits the locked descriptor (:data:`INHERIT_ENV` names its number) and
treats the lock as its own instead of refusing. A single-URL ``fetch`` takes no lock: posts
are written atomically and the index is SQLite in WAL mode, so it is safe beside a crawl.

Scrapy-free, POSIX only (``fcntl``); on a system without it the lock is a no-op with a warning.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from newsspider.archive.index import STATE_DIR
from newsspider.errors import UsageError

LOCK_NAME = "crawl.lock"
#: environment variable carrying the descriptor number of a lock the parent already holds
INHERIT_ENV = "NEWSSPIDER_LOCK_FD"


class LockBusy(UsageError):
    """Another live process crawls into this output folder (nothing can be done: exit 2)."""

    def __init__(self, path: Path, holder: dict[str, object]) -> None:
        self.path = path
        self.holder = holder
        who = ""
        if holder.get("pid"):
            who = f" by pid {holder['pid']}"
            if holder.get("command"):
                who += f" ({holder['command']}"
                who += f", since {holder['started']})" if holder.get("started") else ")"
        super().__init__(
            f"output folder {path.parent.parent} is in use{who}: another crawl or scheduler "
            f"writes there (lock {path}); wait for it to finish or stop it"
        )


def lock_path(output: str | Path) -> Path:
    return Path(output) / STATE_DIR / LOCK_NAME


class OutputLock:
    """``with OutputLock(output, "newsspider crawl"):`` — raises :class:`LockBusy` at once
    (never waits: a scheduled round that finds the folder busy should say so, not queue)."""

    def __init__(self, output: str | Path, command: str = "") -> None:
        self.path = lock_path(output)
        self.command = command or " ".join(Path(a).name if i == 0 else a
                                           for i, a in enumerate(sys.argv[:3]))  # fmt: skip
        self.fd: int | None = None
        #: True when the descriptor came from the parent (then it is not unlocked on release)
        self.inherited = False

    # --- acquiring ---
    def _inherited_fd(self) -> int | None:
        """The parent's locked descriptor, if the environment names one for this very file."""
        text = os.environ.get(INHERIT_ENV, "")
        if not text.isdigit() or not self.path.exists():
            return None
        fd = int(text)
        try:
            mine, theirs = os.fstat(fd), os.stat(self.path)
        except OSError:
            return None
        if (mine.st_dev, mine.st_ino) != (theirs.st_dev, theirs.st_ino):
            return None
        return fd

    def acquire(self) -> OutputLock:
        if fcntl is None:  # pragma: no cover
            print("newsspider: warning: no fcntl here; the output lock is not enforced",
                  file=sys.stderr)  # fmt: skip
            return self
        inherited = self._inherited_fd()
        if inherited is not None:
            # the same open file description as the parent's: flock on it succeeds when the
            # parent holds the lock (or nobody does: then it is ours), fails if another does
            try:
                fcntl.flock(inherited, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pass
            else:
                self.fd, self.inherited = inherited, True
                return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockBusy(self.path, self.holder()) from None
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        return self

    def holder(self) -> dict[str, object]:
        """What the holder wrote (best effort: it may be between truncate and write)."""
        try:
            data = json.loads(self.path.read_text("utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # --- releasing ---
    def release(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        if self.inherited:
            return  # the parent's lock: closing our copy would be harmless, unlocking is not
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def is_locked(output: str | Path) -> bool:
    """Does a live process hold the lock of ``output``? (for tests and status displays)"""
    path = lock_path(output)
    if fcntl is None or not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
