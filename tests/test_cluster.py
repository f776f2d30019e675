"""Several machines through Redis: one feeder (``crawl --redis``), workers (``worker --redis``).

Each test runs real processes against a real ``redis-server`` this module starts on a free port
in a temporary folder (and stops); the tests skip only when no ``redis-server`` is installed. The
replayed channel holds 200 synthetic articles with distinct headlines (tests/rollreplay.py), and
what the workers write together must be, byte for byte, what one machine's crawl writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT, run_newsspider
from redisserver import needs_redis
from rollreplay import ReplayBuilder, roll_body, roll_item, synthetic_article, unix

# (scrapy-redis's own deprecation warning is filtered by name in pyproject.toml)
pytestmark = needs_redis


N = 200
BASE_TIME = unix("2023-01-01 12:00:00")
#: fast polling, a short lease and small batches, so two workers share 200 articles in seconds
FAST = ["-s", "NEWSSPIDER_REDIS_POLL=0.2", "-s", "CONCURRENT_REQUESTS=8"]


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The replayed channel, and what one machine's crawl of it writes (the reference)."""
    b = ReplayBuilder(tmp_path_factory.mktemp("replay"))
    items = []
    for n in range(N):
        ctime = BASE_TIME - n * 60
        url, _, title, html = synthetic_article(n, when=ctime)
        b.add(url, html)
        items.append(roll_item(url, title, ctime))
    for page in range(N // 50):
        b.add_roll("china", page + 1, roll_body(items[page * 50 : (page + 1) * 50], total=N))
    replay = b.write()
    single = tmp_path_factory.mktemp("single") / "out"
    run = run_newsspider("crawl", "--replay", str(replay), "-o", str(single), "--images", "off")
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(posts(single)) == N
    return replay, single


def posts(out: Path) -> dict[str, bytes]:
    root = out / "_posts"
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in root.rglob("*.md")}


def index_rows(out: Path) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(out / ".newsspider" / "index.sqlite3")
    try:
        return list(db.execute("SELECT key, path, status FROM articles ORDER BY key"))
    finally:
        db.close()


def feed(tmp: Path, redis_url: str, replay: Path) -> str:
    run = run_newsspider("crawl", "--redis", redis_url, "--replay", str(replay),
                         "-o", str(tmp / "feeder"), "--images", "off")  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stderr


def start_worker(tmp: Path, name: str, redis_url: str, replay: Path, *extra: str,
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115  (closed when the process is reaped)
    cmd = [sys.executable, "-m", "newsspider.cli", "worker", "--redis", redis_url,
           "--replay", str(replay), "-o", str(tmp / name), "--images", "off", "--log-level",
           "INFO", *FAST, *extra]  # fmt: skip
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning", **(env or {})}
    proc = subprocess.Popen(cmd, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=log,
                            env=full_env)  # fmt: skip
    log.close()
    return proc


def wait(proc: subprocess.Popen[bytes], tmp: Path, name: str, timeout: float = 40) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        log = (tmp / f"{name}.log").read_text("utf-8", "replace")
        raise AssertionError(f"worker {name} did not exit:\n{log[-4000:]}") from None


def assert_cluster_matches(single: Path, folders: list[Path]) -> None:
    """Every article archived exactly once in total, with the single machine's bytes."""
    written = [posts(f) for f in folders]
    union: dict[str, bytes] = {}
    for w in written:
        assert not union.keys() & w.keys(), "a post written by two workers"
        union.update(w)
    reference = posts(single)
    assert sorted(union) == sorted(reference)
    assert all(union[p] == reference[p] for p in reference), "a post differs from one machine's"
    rows = [r for f in folders for r in index_rows(f)]
    assert len(rows) == N and len({r[0] for r in rows}) == N
    assert all(status == "archived" for _, _, status in rows)


def test_two_workers_archive_every_article_once_with_single_machine_bytes(
    tmp_path: Path, redis_url: str, channel: tuple[Path, Path]
) -> None:
    replay, single = channel
    workers = {name: start_worker(tmp_path, name, redis_url, replay, "--exit-when-idle", "2.5")
               for name in ("w1", "w2")}  # fmt: skip
    feed(tmp_path, redis_url, replay)
    for name, proc in workers.items():
        assert wait(proc, tmp_path, name) == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
    assert_cluster_matches(single, [tmp_path / "w1", tmp_path / "w2"])
    assert posts(tmp_path / "w1") and posts(tmp_path / "w2"), "one worker did all the work"
    assert not (tmp_path / "feeder" / "_posts").exists()  # the feeder fetches no article
    check = run_newsspider("index", "check", "-o", str(tmp_path / "w1"))
    assert check.returncode == 0, check.stdout + check.stderr

    from newsspider.cluster import connect

    client = connect(redis_url)
    try:
        assert client.hlen("newsspider:records") == N
        assert client.llen("newsspider:queue") == 0 and client.zcard("newsspider:leases") == 0
        assert client.hlen("newsspider:pending") == 0
    finally:
        client.close()

    # a second crawl with the same Redis queues nothing and no worker fetches anything
    stderr = feed(tmp_path, redis_url, replay)
    assert "requested" not in stderr.rsplit("newsspider:", 1)[-1]
    client = connect(redis_url)
    try:
        assert client.llen("newsspider:queue") == 0 and client.hlen("newsspider:pending") == 0
    finally:
        client.close()
    again = start_worker(tmp_path, "w3", redis_url, replay, "--exit-when-idle", "1")
    assert wait(again, tmp_path, "w3") == 0
    log = (tmp_path / "w3.log").read_text("utf-8")
    assert "taken 0" in log and "doc-izzsyn" not in log
    assert not (tmp_path / "w3" / "_posts").exists()


def test_a_killed_workers_articles_are_archived_by_the_other(
    tmp_path: Path, redis_url: str, channel: tuple[Path, Path]
) -> None:
    replay, single = channel
    feed(tmp_path, redis_url, replay)
    lease = ["--lease", "1.5"]
    # SIGKILL on its third batch: it dies holding up to 4 leases, some posts already written
    doomed = start_worker(tmp_path, "dies", redis_url, replay, *lease,
                          env={"NEWSSPIDER_TEST_CRASH": "leased:3"})  # fmt: skip
    survivor = start_worker(tmp_path, "lives", redis_url, replay, *lease,
                            "--exit-when-idle", "2")  # fmt: skip
    assert wait(doomed, tmp_path, "dies") == -9
    assert wait(survivor, tmp_path, "lives") == 0
    log = (tmp_path / "lives.log").read_text("utf-8")
    assert "lease lapsed" in log, log[-3000:]
    assert posts(tmp_path / "dies"), "the killed worker had archived nothing"
    assert_cluster_matches(single, [tmp_path / "dies", tmp_path / "lives"])


def test_a_worker_started_by_scrapy_crawl_is_the_sina_spider_with_a_setting(
    tmp_path: Path, redis_url: str, channel: tuple[Path, Path]
) -> None:
    """Scrapyd and ``scrapy crawl`` have no ``worker`` command: ``NEWSSPIDER_REDIS_ROLE=worker``
    alone makes the ordinary spider a worker (on Scrapy's own scheduler), with the same bytes."""
    replay, single = channel
    feed(tmp_path, redis_url, replay)
    out = tmp_path / "scrapy"
    settings = {"NEWSSPIDER_REDIS_URL": redis_url, "NEWSSPIDER_REDIS_ROLE": "worker",
                "NEWSSPIDER_REPLAY_DIR": str(replay), "NEWSSPIDER_OUTPUT": str(out),
                "NEWSSPIDER_IMAGES": "off", "NEWSSPIDER_EXIT_WHEN_IDLE": "1.5",
                "NEWSSPIDER_REDIS_POLL": "0.2", "LOG_LEVEL": "INFO"}  # fmt: skip
    cmd = [sys.executable, "-m", "scrapy", "crawl", "sina"]
    for name, value in settings.items():
        cmd += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    run = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, timeout=120,
                         env=env, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Spider closed (idle)" in run.stderr
    assert_cluster_matches(single, [out])
    assert "'cluster/popped': 200" in run.stderr


def test_the_feeder_offers_the_articles_that_failed_before_and_fetches_none(
    tmp_path: Path, redis_url: str
) -> None:
    """A cluster's earlier failure is requested again at the feeder's start (not only when a
    roll page lists it): it goes to the queue like the rest, never fetched by the feeder."""
    from newsspider.cluster import SharedState, connect

    b = ReplayBuilder(tmp_path / "replay")
    listed, _, title, html = synthetic_article(0, when=BASE_TIME)
    b.add(listed, html)
    b.add_roll("china", 1, roll_body([roll_item(listed, title, BASE_TIME)], total=1))
    unlisted, docid, _, html = synthetic_article(1, when=BASE_TIME - 60)
    b.add(unlisted, html)
    replay = b.write()
    shared = SharedState(connect(redis_url))
    try:
        shared.records.mark_failed(docid, unlisted, "china", "HTTP 500")
        feed(tmp_path, redis_url, replay)
        queued = [json.loads(d)["url"] for d in shared.redis.lrange(shared.queue_key, 0, -1)]
    finally:
        shared.close()
    assert sorted(queued) == sorted([listed, unlisted])
    assert not (tmp_path / "feeder" / "_posts").exists()
