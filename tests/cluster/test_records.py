"""The two places articles are recorded answer alike: a folder's SQLite index and the cluster's
Redis records both are :class:`~newsspider.archive.records.ArticleRecords`, and the same calls
get the same answers from both (what lets the spider take either without knowing which)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from redisserver import needs_redis

from newsspider.archive.index import Index, Record
from newsspider.archive.records import ArticleRecords

pytestmark = needs_redis


URL1 = "https://finance.sina.com.cn/china/2023-01-01/doc-izzone.shtml"
URL2 = "https://finance.sina.com.cn/china/2023-01-02/doc-izztwo.shtml"
NOW = 1_700_000_000.0


def _plain(answer: Any) -> Any:
    """Records as dicts, so two sequences of answers compare field by field."""
    if isinstance(answer, Record):
        return asdict(answer)
    if isinstance(answer, list):
        return [_plain(a) for a in answer]
    return answer


def conversation(records: ArticleRecords) -> list[Any]:
    """What a crawl (and the next) asks and tells, in order: every answer kept."""
    answers: list[Any] = [
        records.get("zzone"), records.by_url(URL1), records.failed(), list(records.records()),
        # a first failure, then a second run's: one more attempt, the newer reason
        records.mark_failed("zzone", URL1, "china", "HTTP 500", doc_id="zzone"),
        records.mark_failed("zzone", URL1, "", "network: timed out"),
        records.failed(), records.by_url(URL1), records.get("zzone"),
        records.mark_failed("zztwo", URL2, "finance", "bad date"),
    ]  # fmt: skip
    archived = Record(key="zzone", url=URL1, doc_id="zzone", channel="china",
                      path="_posts/国内/一.md", date="Sun, 01 Jan 2023 12:00:00 GMT", title="一",
                      keywords=["k"], status="archived", attempts=2, template="F")  # fmt: skip
    records.put(archived)
    answers += [
        records.get("zzone"), records.failed(),
        # a failure never demotes an archived article
        records.mark_failed("zzone", URL1, "china", "HTTP 502"), records.get("zzone"),
        records.mark_gone("zzone", "HTTP 404", now=NOW), records.get("zzone"),
        records.mark_gone("nothing", "HTTP 404", now=NOW), records.failed(),
        list(records.records()),
    ]  # fmt: skip
    return [_plain(a) for a in answers]


def test_index_and_redis_records_answer_alike(tmp_path: Path, redis_url: str) -> None:
    from newsspider.cluster import SharedRecords, connect

    index = Index(tmp_path / "out")
    shared = SharedRecords(connect(redis_url), prefix="t")
    try:
        assert isinstance(index, ArticleRecords) and isinstance(shared, ArticleRecords)
        local, cluster = conversation(index), conversation(shared)
    finally:
        index.close()
        shared.close()
    # the answers themselves, so that two implementations wrong alike fail too
    assert local[:4] == [None, None, [], []]
    assert local[5]["attempts"] == 2 and local[5]["reason"] == "network: timed out"
    assert local[5]["channel"] == "china"  # kept from the first failure
    assert [r["key"] for r in local[6]] == ["zzone"] and local[7] == local[8] == local[5]
    assert local[10]["status"] == "archived" and local[11] == [
        r for r in local[11] if r["key"] != "zzone"
    ]
    assert local[12] is None and local[13]["status"] == "archived"
    assert local[14] is True and local[15]["status"] == "gone" and local[15]["last_archived"]
    assert local[16] is False and [r["key"] for r in local[17]] == ["zztwo"]
    assert [r["key"] for r in local[18]] == ["zzone", "zztwo"]
    for n, (a, b) in enumerate(zip(local, cluster, strict=True)):
        assert a == b, f"answer {n} differs: index {a!r}, Redis {b!r}"
