"""The cluster's queue and leases: who has which article in hand, by Redis's clock."""

from __future__ import annotations

import json
import os
import socket
import uuid
from typing import TYPE_CHECKING, Any

from newsspider.archive.index import Record
from newsspider.cluster import lua
from newsspider.cluster.records import SharedRecords, dump

if TYPE_CHECKING:
    from redis import Redis

DEFAULT_PREFIX = "newsspider"
DEFAULT_LEASE = 300.0
INSTALL_HINT = 'the Redis cluster mode needs the extra: pip install -e ".[redis]"'
#: ``NEWSSPIDER_REDIS_ROLE``: with ``NEWSSPIDER_REDIS_URL`` set, a crawl feeds unless told to work
FEEDER, WORKER = "feeder", "worker"


def role(settings: Any) -> str:
    """What this crawl is in a cluster: ``feeder``, ``worker``, or "" (no cluster at all).

    ``settings``: Scrapy's, or anything with ``get``; ``NEWSSPIDER_REDIS_URL`` turns the cluster
    on (``--redis``, or ``-s`` for ``scrapy crawl`` and Scrapyd), ``NEWSSPIDER_REDIS_ROLE``
    (``newsspider worker`` sets it) makes the crawl a worker."""
    if not settings.get("NEWSSPIDER_REDIS_URL"):
        return ""
    return WORKER if settings.get("NEWSSPIDER_REDIS_ROLE") == WORKER else FEEDER


def new_token(role: str = WORKER) -> str:
    """Who holds a lease: host, process and a random part (a restarted process is another)."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def connect(url: str) -> Redis:
    """A client for ``url``, or ImportError with the install line when the extra is missing."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from exc
    return redis.Redis.from_url(url, decode_responses=True)


def _client(settings: Any) -> tuple[Redis, str]:
    url = settings.get("NEWSSPIDER_REDIS_URL")
    if not url:
        raise ValueError("NEWSSPIDER_REDIS_URL is not set")
    return connect(url), settings.get("NEWSSPIDER_REDIS_PREFIX") or DEFAULT_PREFIX


def records_from_settings(settings: Any) -> SharedRecords:
    """The cluster's records (a feeder's lookups), from ``NEWSSPIDER_REDIS_*``."""
    client, prefix = _client(settings)
    return SharedRecords(client, prefix=prefix)


class SharedState:
    """The cluster's queue, leases and feeders in one Redis database; :attr:`records` is its
    article records (the same client)."""

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX,
                 lease: float = DEFAULT_LEASE) -> None:  # fmt: skip
        self.redis = client
        self.prefix = prefix
        self.lease_ms = max(1, int(lease * 1000))
        self.records = SharedRecords(client, prefix=prefix)
        self.queue_key = self.key("queue")
        self._offer = client.register_script(lua.OFFER)
        self._pop = client.register_script(lua.POP)
        self._renew = client.register_script(lua.RENEW)
        self._requeue = client.register_script(lua.REQUEUE)
        self._claim = client.register_script(lua.CLAIM)
        self._done = client.register_script(lua.DONE)
        self._release = client.register_script(lua.RELEASE)
        self._status = client.register_script(lua.STATUS)
        self._feeder = client.register_script(lua.FEEDER)

    @classmethod
    def from_settings(cls, settings: Any) -> SharedState:
        """From Scrapy settings (or any object with ``get``): URL, prefix, lease."""
        client, prefix = _client(settings)
        lease = float(settings.get("NEWSSPIDER_REDIS_LEASE") or DEFAULT_LEASE)
        return cls(client, prefix=prefix, lease=lease)

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def close(self) -> None:
        self.redis.close()

    # --- the queue: offer (feeder), pop with a lease (worker) ---
    def offer(self, key: str, url: str, meta: dict[str, Any]) -> bool:
        """Queue one article unless the cluster already has it in hand (queued or leased).

        ``gen`` names this offer: a copy of an older offer that comes back after it was archived
        is dropped, while a later re-fetch (``--refresh``, a modified article) is a new offer.
        """
        meta = {**meta, "cluster_key": key, "cluster_gen": uuid.uuid4().hex}
        data = json.dumps({"url": url, "meta": meta}, ensure_ascii=False, sort_keys=True)
        return bool(self._offer(keys=[self.key("pending"), self.queue_key], args=[key, data]))

    def pop(self, n: int, token: str) -> list[str]:
        """Up to ``n`` queued request data, each now leased to ``token``."""
        if n < 1:
            return []
        keys = [self.queue_key, self.key("pending"), self.key("leases"), self.key("holders"),
                self.key("done")]  # fmt: skip
        return list(self._pop(keys=keys, args=[n, token, self.lease_ms]))

    def renew(self, token: str, held: list[str]) -> list[str]:
        """Extend this worker's leases; returns the keys it lost (taken over after a stall)."""
        if not held:
            return []
        keys = [self.key("leases"), self.key("holders")]
        return list(self._renew(keys=keys, args=[token, self.lease_ms, *held]))

    def requeue_expired(self, limit: int = 100) -> int:
        """Put back at the head of the queue what lapsed leases held (a dead worker's)."""
        keys = [self.key("leases"), self.key("holders"), self.key("pending"), self.queue_key]
        return int(self._requeue(keys=keys, args=[limit]))

    def claim(self, key: str, token: str, gen: str) -> str:
        """Right before writing: ``ok``, ``done`` (this offer is archived) or ``lost``."""
        keys = [self.key("leases"), self.key("holders"), self.key("done")]
        return str(self._claim(keys=keys, args=[key, token, gen, self.lease_ms]))

    def done(self, key: str, token: str, gen: str, record: Record, urls: list[str],
             **where: str) -> None:  # fmt: skip
        """The post is written: store its record, mark the offer archived, end the lease (one
        script: no other worker sees the lease ended before the record is there)."""
        keys = [self.key("leases"), self.key("holders"), self.key("pending"), self.key("done"),
                self.key("records"), self.key("urls"), self.key("failed")]  # fmt: skip
        urls = [u for u in dict.fromkeys(urls) if u]
        self._done(keys=keys, args=[key, token, gen, record.key, dump(record, **where), *urls])

    def release(self, key: str, token: str, *, requeue: bool = False) -> bool:
        """End this worker's lease of an article it did not archive: failed (forgotten; a later
        crawl offers it again), or ``requeue`` (a worker stopping: another one takes it now)."""
        keys = [self.key("leases"), self.key("holders"), self.key("pending"), self.queue_key]
        return bool(self._release(keys=keys, args=[key, token, "1" if requeue else ""]))

    def status(self) -> tuple[int, int, int]:
        """``(queued, leased, live feeders)``: what an idle worker waits for."""
        keys = [self.queue_key, self.key("leases"), self.key("feeders")]
        queued, leased, feeders = self._status(keys=keys)
        return int(queued), int(leased), int(feeders)

    def feeder_alive(self, token: str, ttl: float) -> None:
        """A feeder says it is still feeding (``ttl`` 0: it has finished)."""
        self._feeder(keys=[self.key("feeders")], args=[token, int(ttl * 1000)])
