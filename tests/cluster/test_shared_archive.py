"""A cluster worker's output folder (:class:`newsspider.cluster.SharedArchive`), against a real
``redis-server``."""

from __future__ import annotations

from pathlib import Path

from redisserver import needs_redis

pytestmark = needs_redis


def test_workers_sharing_a_folder_never_take_the_same_name(tmp_path: Path, redis_url: str) -> None:
    """Two headlines alike, two workers on one folder: one plain name, one `` (DOCID)``."""
    from newsspider.article import Article
    from newsspider.cluster import SharedArchive, SharedRecords, connect

    def records() -> SharedRecords:
        return SharedRecords(connect(redis_url), prefix="t")

    one, two = (
        SharedArchive(tmp_path / "shared", shared=records(), images="off") for _ in range(2)
    )
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
    three = SharedArchive(
        tmp_path / "own", shared=SharedRecords(connect(redis_url), prefix="t"), images="off"
    )
    assert three.save(a).path == path_a and three.save(b).path == path_b
    for archive in (one, two, three):
        archive.close()
