"""The crawl's write path after issue 19: batched index writes, images decoded on worker threads.

What must not change: the bytes. Two crawls of one replay give the same archive whatever order
the worker threads finish in (a test hook makes them finish in another order every run), the
same archive as a crawl with no threads at all, and file names claimed in the order the articles
come: two articles with one title, and two image URLs with one plain path, name their files the
same way every time. And the batch keeps the index honest: every post on disk has its row, and
the number of commits is a fraction of the number of writes.
"""

from __future__ import annotations

import hashlib
import io
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import run_newsspider
from PIL import Image
from rollreplay import ReplayBuilder, roll_body, roll_item, synthetic_article, unix

from newsspider.archive.index import Index, Record
from newsspider.testhooks import JITTER_ENV

N = 16
BASE = unix("2023-01-01 12:00:00")
BODY_TAG = '<div class="article" id="artibody" data-sudaclick="blk_content">'


def jpeg(n: int, k: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40 + n, 30 + k), (n * 13 % 255, k * 70, 120)).save(out, "JPEG")
    return out.getvalue()


def build(directory: Path) -> Path:
    """``N`` articles; pairs share one title; each shows two images whose URLs differ from the
    other articles' only in the extension, which the format's replaces (one plain path for
    all: the first claim gets it, the others a hash suffix)."""
    b = ReplayBuilder(directory)
    items = []
    for i in range(N):
        when = BASE - 60 * i
        url, _docid, title, html = synthetic_article(i, when=when)
        same = f"同名测试文章第{i // 2}对：数字化转型推进会"
        text = re.sub(r"<img\b[^>]*>", "", html.decode("utf-8")).replace(title, same)
        images = [f"https://n.sinaimg.cn/t/p{k}/shared.x{i}" for k in range(2)]
        tags = "".join(f'<img src="{u}" alt="">' for u in images)
        assert BODY_TAG in text
        text = text.replace(BODY_TAG, BODY_TAG + tags, 1)
        b.add(url, text.encode("utf-8"))
        for k, u in enumerate(images):
            b.add(u, jpeg(i, k), content_type="image/jpeg")
        items.append(roll_item(url, same, when))
    b.add_roll("china", 1, roll_body(items))
    return b.write()


def crawl(replay: Path, out: Path, thread_bytes: int, env: dict[str, str] | None = None) -> None:
    run = run_newsspider("crawl", "--replay", str(replay), "-o", str(out), "--images", "local",
                         "--pages", "1", "-s", f"NEWSSPIDER_IMAGE_THREAD_BYTES={thread_bytes}",
                         env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Traceback" not in run.stderr


def files(out: Path) -> dict[str, str]:
    """Every post and image, path -> SHA-256 (the state folder's times and pids left out)."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.relative_to(out).as_posix().startswith(".newsspider/")
    }


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("batch") / "replay")


@pytest.fixture(scope="module")
def inline(replay: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The archive with every image decoded on the engine's thread (no worker threads)."""
    out = tmp_path_factory.mktemp("inline") / "out"
    crawl(replay, out, 1_000_000_000)
    return files(out)


def test_the_archive_has_every_post_and_image_and_names_the_collisions(
    inline: dict[str, str],
) -> None:
    posts = [p for p in inline if p.endswith(".md")]
    images = [p for p in inline if p.startswith("images/")]
    assert len(posts) == N and len(images) == 2 * N
    # one of each pair has the plain name, the other the doc id suffix
    assert sum("(" not in p for p in posts) == N // 2
    # one image per folder has the plain name, the others a hash suffix
    assert sorted(p for p in images if p.endswith("/shared.jpg")) == [
        "images/n.sinaimg.cn/t/p0/shared.jpg",
        "images/n.sinaimg.cn/t/p1/shared.jpg",
    ]


@pytest.mark.parametrize("run_no", [1, 2])
def test_worker_threads_finishing_in_any_order_give_the_same_bytes(
    run_no: int, replay: Path, inline: dict[str, str], tmp_path: Path
) -> None:
    """Every image on a worker thread, each sleeping a random 0-30 ms first: the threads finish
    in another order every run, and the archive is byte for byte the one without threads."""
    out = tmp_path / "out"
    crawl(replay, out, 0, {JITTER_ENV: "30"})
    assert files(out) == inline


def test_every_post_on_disk_has_its_row_and_the_writes_share_commits(
    replay: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    crawl(replay, out, 0)
    index = Index(out)
    try:
        rows = {r.path: r for r in index.records()}
        images = index.db.execute("SELECT path, status FROM images").fetchall()
    finally:
        index.close()
    posts = [p for p in files(out) if p.endswith(".md")]
    assert sorted(posts) == sorted(p for p in rows if p)
    assert all(isinstance(r, Record) and r.status == "archived" for r in rows.values())
    assert sorted(p for p, _ in images) == sorted(p for p in files(out) if p.startswith("images/"))
    assert {s for _, s in images} == {"ok"}
    # the journal holds a line per write: as many as before the batches
    journal = (out / ".newsspider" / "journal.jsonl").read_text("utf-8").splitlines()
    assert len(journal) == N + 2 * N


def test_batched_index_commits_once_per_tick_and_claims_before_files(tmp_path: Path) -> None:
    """The index alone: writes between two ticks share one transaction; ``after_commit``
    waits for the commit; a failed commit hands its error to the waiting writers and keeps
    nothing of the batch."""
    index = Index(tmp_path)
    ticks: list[object] = []
    index.batch(ticks.append)
    seen: list[BaseException | None] = []
    index.put(Record(key="a", path="_posts/a.md", status="pending"), journal=False)
    index.put(Record(key="b", path="_posts/b.md", status="pending"), journal=False)
    index.after_commit(seen.append)
    assert len(ticks) == 1 and seen == []  # one tick asked for, nothing committed yet
    other = sqlite3.connect(tmp_path / ".newsspider" / "index.sqlite3")
    assert other.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    ticks.pop()()  # the engine's next tick
    assert seen == [None]
    assert other.execute("SELECT count(*) FROM articles").fetchone()[0] == 2
    # a batch whose commit fails: its writers hear the error, none of its rows stay (a
    # deferred foreign key that only COMMIT checks stands for a disk that fills up then)
    index.db.execute("PRAGMA foreign_keys = ON")
    index.db.execute(
        "CREATE TABLE probe (k TEXT REFERENCES articles(key) DEFERRABLE INITIALLY DEFERRED)"
    )
    index.put(Record(key="c", path="_posts/c.md", status="pending"), journal=False)
    index.write("INSERT INTO probe VALUES ('nobody')")
    index.after_commit(seen.append)
    ticks.pop()()
    assert isinstance(seen[-1], sqlite3.IntegrityError)
    assert not index.db.in_transaction
    assert other.execute("SELECT key FROM articles ORDER BY key").fetchall() == [("a",), ("b",)]
    index.db.execute("DROP TABLE probe")
    index.close()
    other.close()
