"""Several machines through Redis: one feeder (``crawl --redis``), workers (``worker --redis``).

Each test runs real processes against a real ``redis-server`` this module starts on a free port
in a temporary folder (and stops); the tests skip only when no ``redis-server`` is installed. The
replayed channel holds 200 synthetic articles with distinct headlines (tests/rollreplay.py), and
what the workers write together must be, byte for byte, what one machine's crawl writes.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PROJECT, run_newsspider
from rollreplay import ReplayBuilder, roll_body, roll_item, synthetic_article, unix

REDIS_SERVER = shutil.which("redis-server")
# (scrapy-redis's own deprecation warning is filtered by name in pyproject.toml)
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="no redis-server binary: the cluster tests need one (apt-get install redis-server)",
)

N = 200
BASE_TIME = unix("2023-01-01 12:00:00")
#: fast polling, a short lease and small batches, so two workers share 200 articles in seconds
FAST = ["-s", "NEWSSPIDER_REDIS_POLL=0.2", "-s", "CONCURRENT_REQUESTS=8"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server (no persistence) for this module; its URL without the db."""
    assert REDIS_SERVER is not None
    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """An empty database for each test."""
    from newsspider.cluster import connect

    url = f"{redis_server}/0"
    client = connect(url)
    client.flushdb()
    client.close()
    return url


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


def test_leases_fence_a_stalled_worker_and_offers_are_not_repeated(redis_url: str) -> None:
    """The Lua side alone: what the worker processes rely on, at the edges they rarely hit."""
    from newsspider.archive.index import Record
    from newsspider.cluster import SharedState, connect

    shared = SharedState(connect(redis_url), prefix="t", lease=0.05)
    url = "https://finance.sina.com.cn/china/2023-01-01/doc-izz1.shtml"
    assert shared.offer("zz1", url, {"channel": "china"})
    assert not shared.offer("zz1", url, {"channel": "china"})  # queued: not twice
    [data] = shared.pop(5, "A")
    assert not shared.offer("zz1", url, {})  # leased: not twice either
    time.sleep(0.1)  # A stalls past its lease
    assert shared.requeue_expired() == 1
    assert shared.pop(5, "B") == [data]
    assert shared.renew("A", ["zz1"]) == ["zz1"]  # A learns it lost the article
    gen = __import__("json").loads(data)["meta"]["cluster_gen"]
    assert shared.claim("zz1", "A", gen) == "lost"
    assert shared.claim("zz1", "B", gen) == "ok"
    shared.done("zz1", "B", gen, Record(key="zz1", url=url, path="_posts/x.md"), [url])
    assert shared.record_by_url(url) is not None and shared.status() == (0, 0, 0)
    # a stale copy of the same offer (pushed back by hand, say) is dropped, not handed out
    shared.redis.rpush(shared.queue_key, data)
    assert shared.pop(5, "C") == [] and shared.claim("zz1", "C", gen) == "done"
    # a later offer (a re-fetch) is a new one
    assert shared.offer("zz1", url, {"channel": "china"}) and len(shared.pop(5, "C")) == 1
    shared.close()


def test_workers_sharing_a_folder_never_take_the_same_name(tmp_path: Path, redis_url: str) -> None:
    """Two headlines alike, two workers on one folder: one plain name, one `` (DOCID)``."""
    from newsspider.article import Article
    from newsspider.cluster import SharedArchive, SharedState, connect

    one, two = (SharedArchive(tmp_path / "shared", shared=SharedState(connect(redis_url)),
                              images="off") for _ in range(2))  # fmt: skip
    title = "同一个标题"
    a = Article(url="https://finance.sina.com.cn/a/doc-iaaa.shtml", doc_id="aaa", title=title,
                body="a")  # fmt: skip
    b = Article(url="https://finance.sina.com.cn/b/doc-ibbb.shtml", doc_id="bbb", title=title,
                body="b")  # fmt: skip
    # the second worker decides before the first has written anything its index could show
    path_a = one._choose_path(a, one.channel("china"), "aaa")
    path_b = two._choose_path(b, two.channel("china"), "bbb")
    assert path_a.endswith(f"/{title}.md") and path_b.endswith(f"/{title} (bbb).md")
    # and in a folder of its own, the name another worker took elsewhere is not reused
    three = SharedArchive(tmp_path / "own", shared=SharedState(connect(redis_url)), images="off")
    assert three.save(a).path == path_a and three.save(b).path == path_b
    for archive in (one, two, three):
        archive.shared.close()
        archive.close()
