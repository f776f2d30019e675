"""Crash points for the fault tests: ``NEWSSPIDER_TEST_CRASH=<point>:<n>`` kills the process with
SIGKILL the n-th time the named point is passed. TEST-ONLY; unset, it costs one dict lookup.

Why a hook rather than killing from outside at a random moment: a kill from outside rarely
lands *inside* a write; these points put it exactly where a crash would hurt most (a post's
temp file written but not renamed, an article written but its index row not updated), so the
tests prove the recovery rather than hope to hit it. Points: ``tmpwrite`` (in
:func:`~newsspider.archive.index.atomic_write`, between the temp file and the rename: posts and
images), ``post`` (after the archive pipeline saved an article).
"""

from __future__ import annotations

import os
import signal

ENV = "NEWSSPIDER_TEST_CRASH"
_passed: dict[str, int] = {}


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
