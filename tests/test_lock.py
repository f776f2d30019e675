"""One crawler per output folder (``newsspider/archive/lock.py``), and what may run beside it.

The lock is ``flock``: a second crawl or scheduler refuses at once (exit 2, nothing written), a
lock whose holder was killed with SIGKILL blocks nobody, and a single-URL ``fetch`` needs no lock
because posts are atomic and the index is SQLite in WAL mode with a busy timeout.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from faultcrawl import (
    HTML,
    ROLL_PATH,
    Site,
    cli,
    command,
    path_of,
    post_count,
    run,
    start,
    temp_files,
)
from server import LocalHTTPServer, RecordedRequest, Route

from newsspider.archive.index import Index, Record
from newsspider.archive.lock import INHERIT_ENV, LockBusy, OutputLock, is_locked, lock_path


def test_second_lock_in_the_same_process_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    with OutputLock(tmp_path, "newsspider crawl"):
        assert is_locked(tmp_path)
        with pytest.raises(LockBusy) as info:
            OutputLock(tmp_path).acquire()
        message = str(info.value)
        assert "in use by pid" in message and "newsspider crawl" in message
        assert str(tmp_path) in message
    assert not is_locked(tmp_path)
    OutputLock(tmp_path).acquire().release()


def test_a_lock_held_by_a_killed_process_blocks_nobody(tmp_path: Path) -> None:
    code = (
        "import sys, time; from newsspider.archive.lock import OutputLock; "
        f"OutputLock({str(tmp_path)!r}).acquire(); print('locked', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    assert is_locked(tmp_path) and lock_path(tmp_path).exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert lock_path(tmp_path).exists()  # the file stays; it is not what locks
    assert not is_locked(tmp_path)
    OutputLock(tmp_path).acquire().release()


def test_an_inherited_lock_is_shared_not_refused(tmp_path: Path) -> None:
    lock = OutputLock(tmp_path).acquire()
    assert lock.fd is not None
    code = (
        "from newsspider.archive.lock import OutputLock; "
        f"l = OutputLock({str(tmp_path)!r}).acquire(); print(l.inherited); l.release()"
    )
    env = {INHERIT_ENV: str(lock.fd)}
    child = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        pass_fds=(lock.fd,),
        env={**__import__("os").environ, **env},
        check=False,
    )
    assert child.stdout.strip() == "True", child.stderr
    assert is_locked(tmp_path)  # the child's release left the parent's lock alone
    # a descriptor number that is not this lock file is not trusted
    lock.release()
    other = OutputLock(tmp_path / "elsewhere").acquire()
    assert other.fd is not None
    env = {INHERIT_ENV: str(other.fd)}
    with OutputLock(tmp_path):
        child = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            pass_fds=(other.fd,),
            env={**__import__("os").environ, **env},
            check=False,
        )
    assert "LockBusy" in child.stderr
    other.release()


def _slow_site(server: LocalHTTPServer, delay: float) -> Site:
    site = Site(server, 8, per_page=8)
    for url, _, html in site.articles:
        server.routes[path_of(url)] = Route(body=html, headers={"Content-Type": HTML}, delay=delay)
    return site


def _wait(predicate: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)
    assert predicate(), "timed out waiting"  # type: ignore[operator]


def _state(out: Path) -> dict[str, bytes]:
    state = out / ".newsspider"
    return {p.name: p.read_bytes() for p in sorted(state.iterdir()) if p.is_file()}


def test_a_second_crawl_refuses_and_writes_nothing(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    """Deterministic: the first crawl is held on its first roll page by the test (an event, not
    a delay), so it holds the lock and writes nothing while the second one tries; no sleep races
    a timeout."""
    site = Site(http_server, 8, per_page=8)
    roll = http_server.routes[ROLL_PATH]
    asked, release = threading.Event(), threading.Event()

    def held_roll(request: RecordedRequest) -> Route:
        asked.set()  # the first crawl is past start-up: lock taken, index open, engine running
        release.wait(120)
        return roll(request)  # type: ignore[operator, no-any-return]

    http_server.routes[ROLL_PATH] = held_roll
    out = tmp_path / "out"
    first = start(
        command(http_server, "crawl", out, "--images", "off", "-s", "DOWNLOAD_TIMEOUT=180"),
        tmp_path / "first.log",
    )
    try:
        assert asked.wait(120), (tmp_path / "first.log").read_text("utf-8", "replace")[-3000:]
        assert is_locked(out) and first.poll() is None
        before = _state(out)
        seen = len(http_server.requests)
        second = run(command(http_server, "crawl", out, "--images", "off"))
        assert second.returncode == 2
        assert "in use by pid" in second.stderr and "newsspider crawl" in second.stderr
        assert len(http_server.requests) == seen  # not one request
        assert _state(out) == before  # the first crawl is held: any change is the second's
        schedule = run(command(http_server, "schedule", out, "--every", "1m"))
        assert schedule.returncode == 2 and "in use" in schedule.stderr
        assert len(http_server.requests) == seen and _state(out) == before
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        http_server.routes[ROLL_PATH] = roll
        release.set()
    # the killed crawl's lock does not block: the next one runs and completes the archive
    done = run(command(http_server, "crawl", out, "--images", "off"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert post_count(out) == 8 and not is_locked(out)
    assert site.roll_requests >= 1


def test_fetch_beside_a_running_crawl(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    site = _slow_site(http_server, 0.2)
    extra = site.add_article()  # published but not listed in the feed
    site.listed = set(site.urls) - {extra}
    out = tmp_path / "out"
    crawl = start(
        command(http_server, "crawl", out, "--images", "off", "-s", "DOWNLOAD_DELAY=0.5"),
        tmp_path / "crawl.log",
    )
    _wait(lambda: post_count(out) >= 1)
    fetch = run(command(http_server, "fetch", out, extra, "--images", "off"))
    assert fetch.returncode == 0, fetch.stderr[-3000:]
    assert crawl.poll() is None  # really beside it
    assert crawl.wait(60) == 0, (tmp_path / "crawl.log").read_text()[-3000:]
    assert post_count(out) == 9 and temp_files(out) == []
    check = run(cli("index", "check", "-o", str(out)))
    assert check.returncode == 0, check.stdout


def _writer(output: str, worker: int, count: int) -> None:
    index = Index(Path(output))
    for n in range(count):
        index.put(
            Record(
                key=f"w{worker}-{n}",
                url=f"https://x/{worker}/{n}",
                path=f"_posts/w{worker}/{n}.md",
                status="archived",
                title="标题" * 200,
            )
        )
    index.close()


def test_concurrent_index_writers_do_not_fail(tmp_path: Path) -> None:
    """A crawl and a fetch writing one index at once: WAL plus the busy timeout, and journal
    lines that never interleave (each one append, however long)."""
    Index(tmp_path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 150)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    index = Index(tmp_path)
    try:
        assert len(list(index.records())) == 450
        lines = index.journal_path.read_text("utf-8").splitlines()
        assert len(lines) == 450 and all(json.loads(line)["key"] for line in lines)
    finally:
        index.close()
