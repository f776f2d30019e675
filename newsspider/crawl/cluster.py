"""The Scrapy side of a crawl on several machines (:mod:`newsspider.cluster` holds the state).

Plain components, each switched on by the settings (``NEWSSPIDER_REDIS_URL``, and
``NEWSSPIDER_REDIS_ROLE = "worker"`` for a worker), all listed in ``newsspider.settings`` and
``NotConfigured`` otherwise. Feeder and worker run the ordinary ``sina`` spider and pipelines:

- :class:`FeedMiddleware` (feeder): the spider's article requests are offered to the cluster's
  queue instead of being fetched here; the spider decides what to request against the cluster's
  records (:func:`newsspider.cluster.records_from_settings`), so nothing is offered twice.
- :class:`WorkerMiddleware` (worker): the spider's own start (the roll lists) is the feeder's job,
  so it is replaced by the queue: leased article requests are popped as there is room, leases
  renewed while the worker works, lapsed ones put back, and the crawl ends when idle for
  ``NEWSSPIDER_EXIT_WHEN_IDLE`` seconds. Every popped article ends archived (its lease ended by
  :class:`LeaseRecordPipeline`) or given back.
- :class:`LeaseClaimPipeline` / :class:`LeaseRecordPipeline` (worker), either side of the archive
  pipeline: claim the article right before its post is written, record it in Redis after, so two
  workers never archive the same offer twice. The archive pipeline itself writes through
  :func:`newsspider.cluster.open_archive` (file names claimed cluster-wide).

A worker runs on scrapy-redis's scheduler, keyed per worker (:func:`worker_settings`, which
``newsspider worker`` applies): what a worker popped stays with it (its retries included) and is
covered by its lease. Requests from the queue bypass the duplicate filter on purpose: the
cluster's own pending/lease/done state decides what is fetched again, and a long-running worker
must be able to take a re-fetch of an article it archived earlier.

Nothing here imports scrapy-redis or redis at import time: a project without the ``redis``
extra must still load its settings.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import AsyncIterator, Iterable
from typing import Any, Self

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, DropItem, NotConfigured, ScrapyDeprecationWarning
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from newsspider.archive.index import Index
from newsspider.archive.store import article_key
from newsspider.article import DEFAULT_CHANNEL, Article
from newsspider.cluster import FEEDER, WORKER, SharedState, new_token, role
from newsspider.crawl.context import ArchiveContext
from newsspider.crawl.signals import article_failed, article_gone
from newsspider.pages.base import doc_id_from_url
from newsspider.testhooks import crash_point

logger = logging.getLogger(__name__)

#: attribute an Article from the queue carries: (lease key, offer gen)
LEASE_ATTR = "_newsspider_lease"
#: what of a roll spider's article request travels to the worker (all JSON-able)
FED_META = ("channel", "roll_ctime", "roll_mtime", "roll_title", "known_key", "article_key",
            "doc_id")  # fmt: skip


def worker_settings(settings: BaseSettings, token: str = "") -> dict[str, Any]:
    """What makes a crawl one worker of the cluster: the role, its lease token, and
    scrapy-redis's scheduler keyed by that token. ``newsspider worker`` applies them; for
    ``scrapy crawl`` or Scrapyd, ``-s NEWSSPIDER_REDIS_ROLE=worker`` alone gives a worker on
    Scrapy's own scheduler, which is as good (the leases, not the scheduler, keep the work)."""
    prefix = settings.get("NEWSSPIDER_REDIS_PREFIX") or "newsspider"
    token = token or settings.get("NEWSSPIDER_REDIS_TOKEN") or new_token()
    return {
        "NEWSSPIDER_REDIS_ROLE": WORKER,
        "NEWSSPIDER_REDIS_TOKEN": token,
        "REDIS_URL": settings.get("NEWSSPIDER_REDIS_URL"),
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_KEY": f"{prefix}:{token}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:{token}:dupefilter",
        "SCHEDULER_SERIALIZER": "newsspider.cluster.serializer",
        "SCHEDULER_PERSIST": False,  # a worker's own queue: nothing to keep once it is done
    }


def _token(crawler: Crawler) -> str:
    """This worker's lease token: one per crawler, shared by its components."""
    token = crawler.settings.get("NEWSSPIDER_REDIS_TOKEN")
    if not token:
        token = getattr(crawler, "_newsspider_token", None) or new_token()
        crawler._newsspider_token = token  # type: ignore[attr-defined]
    return str(token)


def _lease(item: Any) -> tuple[str, str] | None:
    lease = getattr(item, LEASE_ATTR, None)
    return lease if lease and lease[0] else None


class FeedMiddleware:
    """Turns a crawl into the cluster's feeder: article requests are offered to Redis.

    A spider middleware so the roll spider stays as it is: it decides what to request, this
    sends the requests to the queue, whether they come from its start (earlier failures) or
    from a roll page.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.shared = SharedState.from_settings(crawler.settings)
        self.token = new_token(FEEDER)
        self.ttl = max(5.0, float(crawler.settings.getfloat("NEWSSPIDER_REDIS_LEASE", 300)))
        self._beat = LoopingCall(self.shared.feeder_alive, self.token, self.ttl)
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if role(crawler.settings) != FEEDER:
            # off: not a cluster crawl; no message, or Scrapy logs "Disabled ..."
            raise NotConfigured()
        return cls(crawler)

    def _opened(self) -> None:
        self._beat.start(self.ttl / 3, now=True)

    def _closed(self) -> None:
        if self._beat.running:
            self._beat.stop()
            self.shared.feeder_alive(self.token, 0)
        self.shared.close()

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for obj in start:
            if not self._offered(obj):
                yield obj

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for obj in result:
            if not self._offered(obj):
                yield obj

    def _offered(self, obj: Any) -> bool:
        spider = self.crawler.spider
        if not isinstance(obj, scrapy.Request):
            return False
        if obj.callback != getattr(spider, "parse_article", None):
            return False
        self.offer(obj)
        return True

    def offer(self, request: scrapy.Request) -> None:
        stats = self.crawler.stats
        assert stats is not None
        meta = {k: v for k, v in request.meta.items() if k in FED_META}
        url = request.meta.get("article_url", request.url)
        key = request.meta.get("article_key") or doc_id_from_url(url) or url
        if self.shared.offer(key, url, meta):
            stats.inc_value("crawl/fed")
        else:
            stats.inc_value("crawl/already_queued")


class WorkerMiddleware:
    """The worker's request source: the cluster's queue instead of the spider's start.

    Popped requests are the spider's own article requests (``article_request``: its callback,
    its ledger), so a worker archives exactly as a single-machine crawl does.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        s = crawler.settings
        self.shared = SharedState.from_settings(s)
        self.token = _token(crawler)
        self.capacity = max(1, s.getint("CONCURRENT_REQUESTS", 16))
        self.exit_when_idle = s.getfloat("NEWSSPIDER_EXIT_WHEN_IDLE", 0)
        self.lease = s.getfloat("NEWSSPIDER_REDIS_LEASE", 300)
        self.poll = s.getfloat("NEWSSPIDER_REDIS_POLL", 1.0)
        #: lease key -> (offer gen, the request's URL), for every article popped and not settled
        self.held: dict[str, tuple[str, str]] = {}
        self.popped = 0
        self._loop = LoopingCall(self.tick)
        self._renew_at = 0.0
        self._idle_since: float | None = None
        self._closing = False
        for handler, signal in ((self._opened, signals.spider_opened),
                                (self._closed, signals.spider_closed),
                                (self._idle, signals.spider_idle),
                                (self._scraped, signals.item_scraped),
                                (self._not_archived, signals.item_dropped),
                                (self._not_archived, signals.item_error),
                                (self._request_dropped, signals.request_dropped),
                                (self._failed, article_failed),
                                (self._failed, article_gone)):  # fmt: skip
            crawler.signals.connect(handler, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if role(crawler.settings) != WORKER:
            raise NotConfigured()
        # scrapy-redis 0.9 passes ``spider=`` to the stats collector, deprecated since Scrapy
        # 2.13: its warning, and only its, says nothing a user can act on
        warnings.filterwarnings(
            "ignore", r"Passing a 'spider' argument", ScrapyDeprecationWarning, r"scrapy_redis\."
        )
        return cls(crawler)

    # --- the spider's side ---
    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Nothing of the spider's own start: reading the roll lists is the feeder's job
        (``start`` is never iterated, so the spider sets nothing up for it either)."""
        nothing: tuple[scrapy.Request, ...] = ()  # the queue's come through tick(), to the engine
        for request in nothing:
            yield request

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """An article carries its lease to the pipelines; a response that made none gives its
        lease back."""
        key = response.meta.get("cluster_key")
        lease = (key, response.meta.get("cluster_gen", ""))
        produced = False
        async for obj in result:
            if key and isinstance(obj, Article):
                setattr(obj, LEASE_ATTR, lease)
                produced = True
            yield obj
        if key and not produced:
            self.settle(key)

    # --- the loop: put back lapsed leases, renew ours, take more, notice idleness ---
    def _opened(self) -> None:
        self._loop.start(self.poll, now=True)

    def tick(self) -> None:
        try:
            self._tick()
        except Exception:  # a Redis hiccup must not stop the loop: the next tick retries
            logger.exception("worker: cluster bookkeeping failed; retrying")

    def _tick(self) -> None:
        stats, engine = self.crawler.stats, self.crawler.engine
        assert stats is not None and engine is not None
        requeued = self.shared.requeue_expired()
        if requeued:
            stats.inc_value("cluster/requeued", requeued)
            logger.warning("worker: put back %d articles whose lease lapsed", requeued)
        self._sweep()
        now = time.monotonic()
        if self.held and now >= self._renew_at:
            for key in self.shared.renew(self.token, list(self.held)):
                self.held.pop(key, None)
                stats.inc_value("cluster/lease_lost")
            self._renew_at = now + self.lease / 3
            # this worker's own scheduler keys outlive it only briefly if it is killed
            for name in ("SCHEDULER_QUEUE_KEY", "SCHEDULER_DUPEFILTER_KEY"):
                if self.crawler.settings.get(name):
                    self.shared.redis.expire(self.crawler.settings.get(name),
                                             int(self.lease * 3) + 60)  # fmt: skip
        self.top_up()
        if not self.exit_when_idle or self._closing:
            return
        if self.held or any(self.shared.status()) or not engine.spider_is_idle():
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now
        elif now - self._idle_since >= self.exit_when_idle:
            logger.info("worker: queue empty, no leases out, for %.0f s: exiting",
                        self.exit_when_idle)  # fmt: skip
            self._closing = True
            deferred_from_coro(engine.close_spider_async(reason="idle"))

    def _sweep(self) -> None:
        """Leases of articles the spider's ledger has ended by a way no signal here saw (a
        callback that raised, say): given back, so none is held until the worker stops."""
        ledger = ArchiveContext.from_crawler(self.crawler).report.ledger
        for key, (_, url) in list(self.held.items()):
            if ledger.entries.get(url) is not None:
                self.settle(key)

    def top_up(self) -> None:
        """Take as many articles as there is room for (``CONCURRENT_REQUESTS`` in hand)."""
        if self._closing:
            return
        engine, stats = self.crawler.engine, self.crawler.stats
        assert engine is not None and stats is not None
        popped = self.shared.pop(self.capacity - len(self.held), self.token)
        for data in popped:
            request = self.request_from_data(data)
            self.held[request.meta["cluster_key"]] = (request.meta.get("cluster_gen", ""),
                                                      request.meta["article_url"])  # fmt: skip
            self.popped += 1
            stats.inc_value("cluster/popped")
            engine.crawl(request)
        if popped:
            # test-only (NEWSSPIDER_TEST_CRASH=leased:N): a kill while holding leases, at a
            # point where no post is half-recorded, so the test proves the lease recovery
            crash_point("leased")

    def request_from_data(self, data: str) -> scrapy.Request:
        """A queue entry (scrapy-redis's ``{"url", "meta"}``, or a bare URL pushed by hand), as
        the spider's own article request."""
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            obj = {"url": data.strip()}
        url = str(obj["url"])
        meta = dict(obj.get("meta") or {})
        meta.pop("article_url", None)
        meta.setdefault("cluster_key", url)
        channel = meta.pop("channel", None) or self.crawler.settings.get(
            "NEWSSPIDER_CHANNEL", DEFAULT_CHANNEL)  # fmt: skip
        spider: Any = self.crawler.spider  # an ArticleSpiderBase (sina), duck-typed: a sibling
        request: scrapy.Request = spider.article_request(url, channel, **meta)
        return request.replace(dont_filter=True)

    def _idle(self) -> None:
        if not self._closing:
            raise DontCloseSpider

    def _closed(self) -> None:
        self._closing = True
        if self._loop.running:
            self._loop.stop()
        stats = self.crawler.stats
        # stopped (Ctrl-C, SIGTERM, idle): what it took and did not archive goes back to the
        # head of the queue now, rather than when its lease would have lapsed
        for key in list(self.held):
            if self.shared.release(key, self.token, requeue=True) and stats is not None:
                stats.inc_value("cluster/given_back")
        self.held.clear()
        self.shared.close()

    # --- settling: every popped article ends archived or released ---
    def settle(self, key: str | None) -> None:
        """Give back the lease of an article that was not archived (``done`` ended the others)."""
        if key is None or key not in self.held:
            return
        self.shared.release(key, self.token)
        self._settled(key)

    def _settled(self, key: str) -> None:
        """One article fewer in hand: take more at once when half the room is free, rather
        than at the next tick (a worker on a fast site would otherwise wait for its clock)."""
        self.held.pop(key, None)
        if len(self.held) <= self.capacity // 2:
            try:
                self.top_up()
            except Exception:  # the tick retries
                logger.exception("worker: could not take more articles")

    def _scraped(self, item: Any) -> None:
        lease = _lease(item)
        if lease:
            self._settled(lease[0])

    def _not_archived(self, item: Any) -> None:
        lease = _lease(item)
        if lease:
            self.settle(lease[0])

    def _request_dropped(self, request: scrapy.Request) -> None:
        self.settle(request.meta.get("cluster_key"))

    def _failed(self, key: str, **_: Any) -> None:
        """The spider gave up on an article (``article_failed``) or found it gone."""
        self.settle(key)


class _LeasePipeline:
    """What both lease pipelines share: on for a worker only, one Redis client each."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.shared = SharedState.from_settings(crawler.settings)
        self.token = _token(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if role(crawler.settings) != WORKER:
            raise NotConfigured()
        return cls(crawler)

    def close_spider(self) -> None:
        self.shared.close()


class LeaseClaimPipeline(_LeasePipeline):
    """Right before the archive pipeline: claim the article, or drop it (archived by now, or
    its lease lost to another worker after a stall)."""

    def process_item(self, item: Any) -> Any:
        lease = _lease(item)
        if lease is None:
            return item
        verdict = self.shared.claim(lease[0], self.token, lease[1])
        if verdict != "ok":
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"cluster/skipped_{verdict}")
            why = "already archived" if verdict == "done" else "lease lost to another worker"
            raise DropItem(f"{item.url}: {why}")
        return item


class LeaseRecordPipeline(_LeasePipeline):
    """Right after the archive pipeline: the post is written, so its record goes to Redis and
    the lease ends; failures and 404s the spider reports are recorded there too, so the next
    feeder retries (or keeps) them as a single machine's crawl would."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.context = ArchiveContext.from_crawler(crawler)
        self.index: Index | None = None
        crawler.signals.connect(self._article_gone, signal=article_gone)
        crawler.signals.connect(self._article_failed, signal=article_failed)

    def open_spider(self) -> None:
        self.index = self.context.index  # the crawl's one connection (the context closes it)

    def _article_gone(self, key: str, url: str, reason: str) -> None:
        self.shared.records.mark_gone(key, reason)

    def _article_failed(self, key: str, url: str, channel: str, reason: str,
                        doc_id: str = "") -> None:  # fmt: skip
        self.shared.records.mark_failed(key, url, channel, reason, doc_id=doc_id)

    def process_item(self, item: Any) -> Any:
        lease = _lease(item)
        if lease is None or self.index is None:
            return item
        key, gen = lease
        rec = self.index.get(article_key(item)) or self.index.by_url(item.url)
        if rec is not None:
            folder = str(self.index.state.parent.resolve())
            urls: Iterable[str] = [item.url, key if "/" in key else ""]
            self.shared.done(key, self.token, gen, rec, list(urls), folder=folder,
                             worker=self.token)  # fmt: skip
        return item
