"""Crash points for the fault tests: ``NEWSSPIDER_TEST_CRASH=<point>:<n>`` kills the process with
SIGKILL the n-th time the named point is passed. TEST-ONLY; unset, it costs one dict lookup.

Why a hook rather than killing from outside at a random moment: a kill from outside rarely
lands *inside* a write; these points put it exactly where a crash would hurt most (a post's
temp file written but not renamed, an article written but its index row not updated), so the
tests prove the recovery rather than hope to hit it. Points: ``tmpwrite`` (in
:func:`~newsspider.archive.index.finish_temp`, between the temp file and the rename: posts and
images), ``post`` (after a post and its row are written: ``Archive.finish``).
"""

from __future__ import annotations

import errno
import os
import signal

ENV = "NEWSSPIDER_TEST_CRASH"
_passed: dict[str, int] = {}
#: ``NEWSSPIDER_TEST_DISK_BYTES=<n>``: the archive's file writes (posts, images, journal lines)
#: may add up to n bytes; the write that would pass it, and every write after, fails with
#: ENOSPC, as on a full disk.
#: TEST-ONLY: a full disk without root's tmpfs (SQLite's own writes are not counted).
DISK_ENV = "NEWSSPIDER_TEST_DISK_BYTES"
_disk_used = [0]


def crash_point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    point, _, count = spec.partition(":")
    if point != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def disk_write(nbytes: int) -> None:
    """Count ``nbytes`` about to be written; raise ENOSPC past :data:`DISK_ENV`'s budget."""
    budget = os.environ.get(DISK_ENV)
    if not budget:
        return
    if _disk_used[0] + nbytes > int(budget):
        _disk_used[0] = int(budget)  # full stays full: a smaller write fails too
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC) + " (NEWSSPIDER_TEST_DISK_BYTES)")
    _disk_used[0] += nbytes


#: ``NEWSSPIDER_TEST_THREAD_JITTER=<ms>``: each piece of work the crawl hands to a worker thread
#: (an image's decode and temp file) first sleeps a random 0 to <ms> milliseconds, so that the
#: tests see the threads finish in another order every run: the archive must not change.
#: TEST-ONLY; unset, it costs one dict lookup.
JITTER_ENV = "NEWSSPIDER_TEST_THREAD_JITTER"


def thread_jitter() -> None:
    spec = os.environ.get(JITTER_ENV)
    if spec:
        import random
        import time

        time.sleep(random.random() * float(spec) / 1000)
