"""The cluster's queue and leases against a real ``redis-server``: the Lua scripts alone."""

from __future__ import annotations

import json
import time

from redisserver import needs_redis

pytestmark = needs_redis


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
    gen = json.loads(data)["meta"]["cluster_gen"]
    assert shared.claim("zz1", "A", gen) == "lost"
    assert shared.claim("zz1", "B", gen) == "ok"
    shared.done("zz1", "B", gen, Record(key="zz1", url=url, path="_posts/x.md"), [url])
    assert shared.records.by_url(url) is not None and shared.status() == (0, 0, 0)
    # a stale copy of the same offer (pushed back by hand, say) is dropped, not handed out
    shared.redis.rpush(shared.queue_key, data)
    assert shared.pop(5, "C") == [] and shared.claim("zz1", "C", gen) == "done"
    # a later offer (a re-fetch) is a new one
    assert shared.offer("zz1", url, {"channel": "china"}) and len(shared.pop(5, "C")) == 1
    shared.close()
