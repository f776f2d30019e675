"""What a crawl on several machines shares through Redis (``--redis URL``), without Scrapy.

One feeder reads the roll lists and *offers* article requests; any number of workers pop them,
fetch, and write posts into their own ``--output``. Each output folder keeps its own SQLite index
and journal of the posts written there; Redis holds only what the cluster must agree on. Every
key lives under a prefix (``NEWSSPIDER_REDIS_PREFIX``, default ``newsspider``), so several
clusters (or test runs) can share one server:

==================  =====  =================================================================
``{p}:queue``       list   request data in scrapy-redis's start-URL JSON format (``{"url",
                           "meta"}``), oldest first; workers pop from the head
``{p}:pending``     hash   key -> data of every article offered and not yet settled (queued
                           or leased): a second offer is refused, a lapsed lease is put back
``{p}:leases``      zset   key -> lease expiry (Redis server clock, ms)
``{p}:holders``     hash   key -> token of the worker holding the lease (a fencing token)
``{p}:done``        hash   key -> the offer (``gen``) it was last archived for
``{p}:records``     hash   key -> the article's record: index columns + folder and worker
``{p}:failed``      hash   key -> record of an article that failed (the next crawl retries it)
``{p}:urls``        hash   URL -> key
``{p}:paths``       hash   post path -> key: a file name is claimed once in the whole cluster
``{p}:feeders``     zset   feeder token -> expiry: workers do not go idle while one feeds
==================  =====  =================================================================

Why a lease and not just scrapy-redis's queue: scrapy-redis pops destructively, so what a killed
worker held would be lost. Here the pop, the lease and the holder are one Lua script; a worker
renews its leases while it works; whoever notices a lapsed lease puts the article back at the
head of the queue. Every decision uses Redis's clock (``TIME`` in the scripts), so machines'
clocks need not agree. The holder token fences a worker that stalled past its lease: before
writing it *claims* the article, which fails once another worker holds it.

The module also provides the JSON serializer the scrapy-redis scheduler is configured with
(:func:`dumps` / :func:`loads`): requests in Redis are data, never pickles.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsspider.archive.channels import Channel
from newsspider.archive.index import COLUMNS, Record
from newsspider.archive.names import name_stem, with_suffix
from newsspider.archive.store import Archive, Saved, article_key
from newsspider.article import Article

if TYPE_CHECKING:
    from redis import Redis

DEFAULT_PREFIX = "newsspider"
DEFAULT_LEASE = 300.0
INSTALL_HINT = 'the Redis cluster mode needs the extra: pip install -e ".[redis]"'

_NOW = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""


def _with_clock(script: str) -> str:
    """Decisions use Redis's clock (milliseconds), the one clock every machine sees."""
    return _NOW + script


#: KEYS pending, queue; ARGV key, data -> 1 offered, 0 already in the cluster's hands
_OFFER = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""

#: KEYS queue, pending, leases, holders, done; ARGV n, token, lease_ms -> list of data
_POP = _with_clock("""
local now = now_ms()
local out = {}
while #out < tonumber(ARGV[1]) do
  local data = redis.call('LPOP', KEYS[1])
  if not data then break end
  local key, gen = data, ''
  local ok, obj = pcall(cjson.decode, data)
  if ok and type(obj) == 'table' then
    if type(obj['url']) == 'string' then key = obj['url'] end
    local meta = obj['meta']
    if type(meta) == 'table' then
      if type(meta['cluster_key']) == 'string' then key = meta['cluster_key'] end
      if type(meta['cluster_gen']) == 'string' then gen = meta['cluster_gen'] end
    end
  end
  local skip = gen ~= '' and redis.call('HGET', KEYS[5], key) == gen
  if not skip then
    local holder = redis.call('HGET', KEYS[4], key)
    local expiry = redis.call('ZSCORE', KEYS[3], key)
    skip = holder and holder ~= ARGV[2] and expiry and tonumber(expiry) > now
  end
  if not skip then
    redis.call('HSET', KEYS[4], key, ARGV[2])
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), key)
    redis.call('HSET', KEYS[2], key, data)
    table.insert(out, data)
  end
end
return out
""")

#: KEYS leases, holders; ARGV token, lease_ms, key... -> keys this worker no longer holds
_RENEW = _with_clock("""
local now = now_ms()
local lost = {}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
""")

#: KEYS leases, holders, pending, queue; ARGV limit -> how many lapsed leases were put back
_REQUEUE = _with_clock("""
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
for _, key in ipairs(keys) do
  redis.call('ZREM', KEYS[1], key)
  redis.call('HDEL', KEYS[2], key)
  local data = redis.call('HGET', KEYS[3], key)
  if data then redis.call('LPUSH', KEYS[4], data) end
end
return #keys
""")

#: KEYS leases, holders, done; ARGV key, token, gen, lease_ms -> ok | done | lost
_CLAIM = _with_clock("""
local now = now_ms()
if ARGV[3] ~= '' and redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[3] then return 'done' end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and holder ~= ARGV[2] then
  local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if expiry and tonumber(expiry) > now then return 'lost' end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
return 'ok'
""")

#: KEYS leases, holders, pending, done, records, urls, failed;
#: ARGV lease key, token, gen, record key, record, url... -> 1
_DONE = """
redis.call('HSET', KEYS[5], ARGV[4], ARGV[5])
redis.call('HDEL', KEYS[7], ARGV[4])
for i = 6, #ARGV do redis.call('HSET', KEYS[6], ARGV[i], ARGV[4]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[3]) end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if (not holder) or holder == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 1
"""

#: KEYS leases, holders, pending, queue; ARGV key, token, requeue ('1': back to the queue's
#: head; '': forget it) -> 1 released, 0 not ours
_RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  local data = redis.call('HGET', KEYS[3], ARGV[1])
  if ARGV[3] == '1' and data then
    redis.call('LPUSH', KEYS[4], data)
  else
    redis.call('HDEL', KEYS[3], ARGV[1])
  end
  return 1
end
return 0
"""

#: KEYS queue, leases, feeders -> {queued, leased, live feeders}
_STATUS = _with_clock("""
return {redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]),
        redis.call('ZCOUNT', KEYS[3], '(' .. now_ms(), '+inf')}
""")

#: KEYS feeders; ARGV token, ttl_ms (0: gone)
_FEEDER = _with_clock("""
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if tonumber(ARGV[2]) > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
""")

#: KEYS paths; ARGV path, key -> 1 when the path is (now) this key's
_CLAIM_PATH = """
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 1 end
return 0
"""


def new_token(role: str = "worker") -> str:
    """Who holds a lease: host, process and a random part (a restarted process is another)."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def connect(url: str) -> Redis:
    """A client for ``url``, or ImportError with the install line when the extra is missing."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from exc
    return redis.Redis.from_url(url, decode_responses=True)


class SharedState:
    """The cluster's state in one Redis database: queue, leases, claims, records."""

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX,
                 lease: float = DEFAULT_LEASE) -> None:  # fmt: skip
        self.redis = client
        self.prefix = prefix
        self.lease_ms = max(1, int(lease * 1000))
        k = self.key
        self.queue_key = k("queue")
        self._offer = client.register_script(_OFFER)
        self._pop = client.register_script(_POP)
        self._renew = client.register_script(_RENEW)
        self._requeue = client.register_script(_REQUEUE)
        self._claim = client.register_script(_CLAIM)
        self._done = client.register_script(_DONE)
        self._release = client.register_script(_RELEASE)
        self._status = client.register_script(_STATUS)
        self._feeder = client.register_script(_FEEDER)
        self._claim_path = client.register_script(_CLAIM_PATH)

    @classmethod
    def from_settings(cls, settings: Any) -> SharedState:
        """From Scrapy settings (or any object with ``get``): URL, prefix, lease."""
        url = settings.get("NEWSSPIDER_REDIS_URL")
        if not url:
            raise ValueError("NEWSSPIDER_REDIS_URL is not set")
        lease = float(settings.get("NEWSSPIDER_REDIS_LEASE") or DEFAULT_LEASE)
        prefix = settings.get("NEWSSPIDER_REDIS_PREFIX") or DEFAULT_PREFIX
        return cls(connect(url), prefix=prefix, lease=lease)

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
        """The post is written: store its record, mark the offer archived, end the lease."""
        data = json.dumps({**asdict(record), **where}, ensure_ascii=False, sort_keys=True)
        keys = [self.key("leases"), self.key("holders"), self.key("pending"), self.key("done"),
                self.key("records"), self.key("urls"), self.key("failed")]  # fmt: skip
        urls = [u for u in dict.fromkeys(urls) if u]
        self._done(keys=keys, args=[key, token, gen, record.key, data, *urls])

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

    # --- the archive's shared half ---
    def claim_path(self, path: str, key: str) -> bool:
        """Claim a post path for ``key`` in the whole cluster; False if another article has it."""
        return bool(self._claim_path(keys=[self.key("paths")], args=[path, key]))

    def record(self, key: str) -> Record | None:
        data = self.redis.hget(self.key("records"), key)
        if not data:
            return None
        values = json.loads(str(data))
        return Record(**{c: values[c] for c in COLUMNS if c in values})

    def record_by_url(self, url: str) -> Record | None:
        key = self.redis.hget(self.key("urls"), url)
        return self.record(str(key)) if key else None

    def mark_gone(self, key: str, reason: str) -> bool:
        """Sina no longer serves an archived article: the shared record says so too."""
        data = self.redis.hget(self.key("records"), key)
        if not data:
            return False
        values = json.loads(str(data))
        values.update(status="gone", reason=reason)
        self.redis.hset(self.key("records"), key, json.dumps(values, ensure_ascii=False,
                                                            sort_keys=True))  # fmt: skip
        return True

    def mark_failed(self, key: str, url: str, channel: str, reason: str,
                    doc_id: str = "") -> None:  # fmt: skip
        """An article still failing after its retries, as the single-machine index keeps it:
        the next crawl offers it again (``NEWSSPIDER_MAX_ATTEMPTS`` runs at most)."""
        rec = self.record(key) or (self.record_by_url(url) if url else None)
        if rec is not None and rec.status in ("archived", "imported", "gone"):
            return
        rec = rec or Record(key=key, url=url, doc_id=doc_id, channel=channel)
        rec.status, rec.reason, rec.attempts = "failed", reason, rec.attempts + 1
        data = json.dumps(asdict(rec), ensure_ascii=False, sort_keys=True)
        pipe = self.redis.pipeline()
        pipe.hset(self.key("records"), rec.key, data)
        pipe.hset(self.key("failed"), rec.key, data)
        if url:
            pipe.hset(self.key("urls"), url, rec.key)
        pipe.execute()

    def failed(self) -> list[Record]:
        records = []
        for data in self.redis.hvals(self.key("failed")):
            values = json.loads(str(data))
            records.append(Record(**{c: values[c] for c in COLUMNS if c in values}))
        return sorted(records, key=lambda r: r.key)

    def index(self) -> SharedIndex:
        return SharedIndex(self)


class SharedIndex:
    """The lookups the roll spider makes (:class:`~newsspider.archive.index.Index`'s ``get`` and
    ``by_url``), answered from the cluster's records: a feeder's own folder knows nothing."""

    def __init__(self, state: SharedState) -> None:
        self.state = state

    def get(self, key: str) -> Record | None:
        return self.state.record(key)

    def by_url(self, url: str) -> Record | None:
        return self.state.record_by_url(url)

    def failed(self) -> list[Record]:
        return self.state.failed()

    def close(self) -> None:
        self.state.close()


class SharedArchive(Archive):
    """An output folder that is one of several: file names are claimed cluster-wide.

    The local rule stays (a name held in this folder's index, or a file already there, gives the
    `` (DOCID)`` suffix); on top, a name another article claimed anywhere in the cluster gives the
    suffix too. So posts of separate folders can be merged without overwriting each other, and
    workers sharing one folder cannot both take the same name.
    """

    def __init__(self, output: str | Path, *, shared: SharedState, **kwargs: Any) -> None:
        super().__init__(output, **kwargs)
        self.shared = shared

    def _choose_path(self, article: Article, channel: Channel, key: str) -> str:
        path = super()._choose_path(article, channel, key)
        if self.shared.claim_path(path, key):
            return path
        folder = "/".join(("_posts", *channel.categories))
        suffix = article.doc_id or hashlib.sha1(key.encode()).hexdigest()[:12]
        path = f"{folder}/{with_suffix(name_stem(article.title, suffix), suffix)}.md"
        self.shared.claim_path(path, key)
        return path

    def save(self, article: Article, *, now: float | None = None) -> Saved:
        """An article archived before by another worker (a re-fetch) keeps its path and date,
        so its post has the bytes a single archive would give it."""
        key = article_key(article)
        local = self.index.get(key) or (self.index.by_url(article.url) if article.url else None)
        if local is None:
            known = self.shared.record(key) or (
                self.shared.record_by_url(article.url) if article.url else None)  # fmt: skip
            if known is not None and known.path and self.index.holder_of(known.path) is None:
                seed = Record(key=known.key, path=known.path, date=known.date,
                              first_archived=known.first_archived, channel=known.channel,
                              status="archived")  # fmt: skip
                self.index.put(seed, journal=False)
        return super().save(article, now=now)


# --- the scrapy-redis scheduler's serializer (SCHEDULER_SERIALIZER = "newsspider.cluster") ---
def _pack(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not {"__b", "__d"} & value.keys():
            return {k: _pack(v) for k, v in value.items()}
        return {"__d": [[_pack(k), _pack(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_pack(v) for v in value]
    return value


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b"}:
            return base64.b64decode(value["__b"])
        if set(value) == {"__d"}:
            return {_unpack(k): _unpack(v) for k, v in value["__d"]}
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def dumps(obj: Any) -> str:
    """A request dict as JSON (bytes as base64): nothing in Redis is ever unpickled."""
    return json.dumps(_pack(obj), ensure_ascii=False, sort_keys=True)


def loads(data: str | bytes) -> Any:
    return _unpack(json.loads(data))
