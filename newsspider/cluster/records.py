"""The cluster's article records in Redis: :class:`~newsspider.archive.records.ArticleRecords`
answered for every machine at once.

A feeder asks them what a single-machine crawl asks its index (is this article archived? what
failed?), because the posts are in the workers' folders, not in its own. Records are stored as
the index's rows (JSON columns decoded, empty lists and maps rather than nulls), so a record
read back is the one an index would give; a worker adds where it wrote the post (``folder``,
``worker``), which lookups ignore.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from newsspider.archive.index import COLUMNS, Record
from newsspider.archive.post import rfc1123
from newsspider.archive.records import SETTLED
from newsspider.cluster import lua

if TYPE_CHECKING:
    from redis import Redis

#: the index's JSON columns and what an empty one reads back as
_EMPTY: dict[str, Any] = {"keywords": [], "images": [], "local_images": {}, "failed_images": {}}


def dump(rec: Record, **where: str) -> str:
    """A record as Redis keeps it: the index's row, plus where the post was written."""
    values = asdict(rec)
    for name, empty in _EMPTY.items():
        values[name] = values[name] or type(empty)()
    return json.dumps({**values, **where}, ensure_ascii=False, sort_keys=True)


def load(data: Any) -> Record:
    values = json.loads(str(data))
    return Record(**{c: values[c] for c in COLUMNS if c in values})


class SharedRecords:
    """Records of the whole cluster, under ``{prefix}:records`` (and ``:urls``, ``:failed``,
    ``:paths``: see :mod:`newsspider.cluster`)."""

    def __init__(self, client: Redis, *, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self._claim_path = client.register_script(lua.CLAIM_PATH)

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def close(self) -> None:
        self.redis.close()

    # --- lookups ---
    def get(self, key: str) -> Record | None:
        data = self.redis.hget(self.key("records"), key)
        return load(data) if data else None

    def by_url(self, url: str) -> Record | None:
        key = self.redis.hget(self.key("urls"), url)
        return self.get(str(key)) if key else None

    def failed(self) -> list[Record]:
        out = []
        # redis-py types a call as "list or awaitable" (its asyncio client shares the signature)
        keys: list[Any] = self.redis.hkeys(self.key("failed"))  # type: ignore[assignment,unused-ignore]
        for key in keys:
            rec = self.get(str(key))
            if rec is not None and rec.status == "failed":
                out.append(rec)
        return sorted(out, key=lambda r: r.key)

    def records(self) -> Iterator[Record]:
        values: list[Any] = self.redis.hvals(self.key("records"))  # type: ignore[assignment,unused-ignore]
        found = [load(data) for data in values]
        yield from sorted(found, key=lambda r: r.key)

    # --- outcomes ---
    def put(self, rec: Record, **where: str) -> None:
        """Store ``rec`` whole; the ``failed`` list follows its status."""
        pipe = self.redis.pipeline()
        pipe.hset(self.key("records"), rec.key, dump(rec, **where))
        if rec.url:
            pipe.hset(self.key("urls"), rec.url, rec.key)
        if rec.status == "failed":
            pipe.hset(self.key("failed"), rec.key, "1")
        else:
            pipe.hdel(self.key("failed"), rec.key)
        pipe.execute()

    def mark_failed(self, key: str, url: str, channel: str, reason: str, *,
                    doc_id: str = "") -> Record | None:  # fmt: skip
        """As the single-machine index keeps a failure: the next crawl offers it again
        (``NEWSSPIDER_MAX_ATTEMPTS`` runs at most). A worker's post is in its own folder, so
        unlike the index no file is looked at."""
        rec = self.get(key) or (self.by_url(url) if url else None)
        if rec is not None and rec.status in SETTLED:
            return None
        rec = rec or Record(key=key, url=url, doc_id=doc_id, channel=channel)
        rec.url = rec.url or url
        rec.channel = rec.channel or channel
        rec.status, rec.reason, rec.attempts = "failed", reason, rec.attempts + 1
        self.put(rec)
        return rec

    def mark_gone(self, key: str, reason: str, *, now: float | None = None) -> bool:
        """Sina no longer serves an archived article: the shared record says so too."""
        rec = self.get(key)
        if rec is None:
            return False
        rec.status, rec.reason = "gone", reason
        rec.last_archived = rec.last_archived or rfc1123(time.time() if now is None else now)
        self.put(rec)
        return True

    # --- the archive's shared half ---
    def claim_path(self, path: str, key: str) -> bool:
        """Claim a post path for ``key`` in the whole cluster; False if another article has it."""
        return bool(self._claim_path(keys=[self.key("paths")], args=[path, key]))
