"""The Scrapy side of a crawl on several machines (:mod:`newsspider.cluster` holds the logic).

- :class:`FeedMiddleware`: with ``NEWSSPIDER_REDIS_URL`` set, the roll spider's article requests
  are offered to the cluster's queue instead of being fetched here (the feeder).
- :class:`WorkerSpider` (``worker``): pops leased article requests, archives them into its own
  ``--output``, renews its leases while it works and puts back lapsed ones.
- :class:`ClusterArchivePipeline`: claims an article right before writing its post and records
  it in Redis after, so two workers never archive the same offer twice.

The worker runs on scrapy-redis's scheduler and duplicate filter, keyed per worker
(``{prefix}:worker:{token}:...``): what a worker popped stays with it (its retries included) and
is covered by its lease. Requests from the queue bypass the duplicate filter on purpose: the
cluster's own pending/lease/done state decides what is fetched again, and a long-running worker
must be able to take a re-fetch of an article it archived earlier.

Nothing here imports scrapy-redis or redis at import time: Scrapy loads every spider module, and
a project without the ``redis`` extra must still work.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any, Self

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, DropItem, NotConfigured, ScrapyDeprecationWarning
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from newsspider.archive.store import article_key
from newsspider.article import Article
from newsspider.cluster import SharedArchive, SharedState, new_token
from newsspider.crawl.pipelines import ArchivePipeline
from newsspider.crawl.spiders.base import ArticleSpiderBase
from newsspider.pages.base import doc_id_from_url
from newsspider.testhooks import crash_point

logger = logging.getLogger(__name__)

#: attribute an Article from the queue carries: (lease key, offer gen)
LEASE_ATTR = "_newsspider_lease"
_ARCHIVE_PIPELINE = "newsspider.crawl.pipelines.ArchivePipeline"
_CLUSTER_PIPELINE = "newsspider.crawl.spiders.worker.ClusterArchivePipeline"
#: what of a roll spider's article request travels to the worker (all JSON-able)
_FED_META = ("channel", "roll_ctime", "roll_mtime", "roll_title", "known_key", "article_key",
             "doc_id")  # fmt: skip


def worker_settings(settings: BaseSettings, token: str) -> dict[str, Any]:
    """scrapy-redis's scheduler and duplicate filter for one worker, and the cluster pipeline."""
    prefix = settings.get("NEWSSPIDER_REDIS_PREFIX") or "newsspider"
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    order = pipelines.pop(_ARCHIVE_PIPELINE, 800)
    pipelines[_CLUSTER_PIPELINE] = order
    return {
        "REDIS_URL": settings.get("NEWSSPIDER_REDIS_URL"),
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_KEY": f"{prefix}:{token}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:{token}:dupefilter",
        "SCHEDULER_SERIALIZER": "newsspider.cluster",
        "SCHEDULER_PERSIST": False,  # a worker's own queue: nothing to keep once it is done
        "NEWSSPIDER_REDIS_TOKEN": token,
        "ITEM_PIPELINES": pipelines,
    }


class WorkerSpider(ArticleSpiderBase):
    """Archives what the feeder queued, until told to stop or idle for ``--exit-when-idle``."""

    name = "worker"

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        if not settings.get("NEWSSPIDER_REDIS_URL"):
            return
        # scrapy-redis 0.9 passes ``spider=`` to the stats collector, deprecated since Scrapy
        # 2.13: its warning, and only its, says nothing a user can act on
        warnings.filterwarnings(
            "ignore", r"Passing a 'spider' argument", ScrapyDeprecationWarning, r"scrapy_redis\."
        )
        token = settings.get("NEWSSPIDER_REDIS_TOKEN") or new_token()
        for name, value in worker_settings(settings, token).items():
            # ITEM_PIPELINES may have been given on the command line: swap at its priority
            priority = (settings.getpriority(name) or 0) if name == "ITEM_PIPELINES" else 0
            settings.set(name, value, priority=max(priority, 30))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: lease key -> offer gen, for every article popped and not yet settled
        self.held: dict[str, str] = {}
        self.shared: SharedState | None = None
        self.token = ""
        self.popped = 0
        self._loop: LoopingCall | None = None
        self._renew_at = 0.0
        self._idle_since: float | None = None
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        for handler, signal in ((spider._idle, signals.spider_idle),
                                (spider._scraped, signals.item_scraped),
                                (spider._not_archived, signals.item_dropped),
                                (spider._not_archived, signals.item_error),
                                (spider._request_dropped, signals.request_dropped)):  # fmt: skip
            crawler.signals.connect(handler, signal=signal)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        s = self.settings
        if not s.get("NEWSSPIDER_REDIS_URL"):
            raise ValueError("the worker spider needs NEWSSPIDER_REDIS_URL (newsspider worker "
                             "--redis URL)")  # fmt: skip
        self.shared = SharedState.from_settings(s)
        self.token = s.get("NEWSSPIDER_REDIS_TOKEN") or new_token()
        self.capacity = max(1, s.getint("CONCURRENT_REQUESTS", 16))
        self.exit_when_idle = s.getfloat("NEWSSPIDER_EXIT_WHEN_IDLE", 0)
        self.lease = s.getfloat("NEWSSPIDER_REDIS_LEASE", 300)
        self._loop = LoopingCall(self.tick)
        self._loop.start(s.getfloat("NEWSSPIDER_REDIS_POLL", 1.0), now=True)
        for request in ():  # requests come from the queue: tick() hands them to the engine
            yield request

    def closed(self, reason: str) -> None:
        self._closing = True
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self.shared is not None:
            # stopped (Ctrl-C, SIGTERM, idle): what it took and did not archive goes back to the
            # head of the queue now, rather than when its lease would have lapsed
            for key in list(self.held):
                if self.shared.release(key, self.token, requeue=True):
                    self.crawler.stats.inc_value("cluster/given_back")  # type: ignore[union-attr]
            self.held.clear()
            self.shared.close()

    # --- the loop: put back lapsed leases, renew ours, take more, notice idleness ---
    def tick(self) -> None:
        try:
            self._tick()
        except Exception:  # a Redis hiccup must not stop the loop: the next tick retries
            logger.exception("worker: cluster bookkeeping failed; retrying")

    def _tick(self) -> None:
        assert self.shared is not None and self.crawler.stats is not None
        stats = self.crawler.stats
        requeued = self.shared.requeue_expired()
        if requeued:
            stats.inc_value("cluster/requeued", requeued)
            logger.warning("worker: put back %d articles whose lease lapsed", requeued)
        now = time.monotonic()
        if self.held and now >= self._renew_at:
            for key in self.shared.renew(self.token, list(self.held)):
                self.held.pop(key, None)
                stats.inc_value("cluster/lease_lost")
            self._renew_at = now + self.lease / 3
            # this worker's own scheduler keys outlive it only briefly if it is killed
            for name in ("SCHEDULER_QUEUE_KEY", "SCHEDULER_DUPEFILTER_KEY"):
                self.shared.redis.expire(self.settings.get(name), int(self.lease * 3) + 60)
        self.top_up()
        if not self.exit_when_idle or self._closing:
            return
        engine = self.crawler.engine
        if self.held or any(self.shared.status()) or not engine.spider_is_idle():
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now
        elif now - self._idle_since >= self.exit_when_idle:
            logger.info("worker: queue empty, no leases out, for %.0f s: exiting",
                        self.exit_when_idle)  # fmt: skip
            self._closing = True
            deferred_from_coro(engine.close_spider_async(reason="idle"))

    def top_up(self) -> None:
        """Take as many articles as there is room for (``CONCURRENT_REQUESTS`` in hand)."""
        if self._closing or self.shared is None:
            return
        popped = self.shared.pop(self.capacity - len(self.held), self.token)
        for data in popped:
            request = self.request_from_data(data)
            self.held[request.meta["cluster_key"]] = request.meta.get("cluster_gen", "")
            self.popped += 1
            self.crawler.stats.inc_value("cluster/popped")  # type: ignore[union-attr]
            self.crawler.engine.crawl(request)
        if popped:
            # test-only (NEWSSPIDER_TEST_CRASH=leased:N): a kill while holding leases, at a
            # point where no post is half-recorded, so the test proves the lease recovery
            crash_point("leased")

    def _settled(self, key: str) -> None:
        """One article fewer in hand: take more at once when half the room is free, rather
        than at the next tick (a worker on a fast site would otherwise wait for its clock)."""
        self.held.pop(key, None)
        if len(self.held) <= self.capacity // 2:
            try:
                self.top_up()
            except Exception:  # the tick retries
                logger.exception("worker: could not take more articles")

    def request_from_data(self, data: str) -> scrapy.Request:
        """A queue entry (scrapy-redis's ``{"url", "meta"}``, or a bare URL pushed by hand)."""
        import json

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
        channel = meta.pop("channel", None) or self.settings.get("NEWSSPIDER_CHANNEL", "china")
        request = self.article_request(url, channel, **meta)
        return request.replace(dont_filter=True)

    def _idle(self) -> None:
        if not self._closing:
            raise DontCloseSpider

    # --- settling: every popped article ends archived or released ---
    def settle(self, key: str | None) -> None:
        """Give back the lease of an article that was not archived (done() ended the others)."""
        if key is None or self.shared is None:
            return
        self.shared.release(key, self.token)
        self._settled(key)

    def parse_article(self, response: Response) -> Iterator[Article]:
        lease = (response.meta.get("cluster_key"), response.meta.get("cluster_gen", ""))
        produced = False
        for article in super().parse_article(response):
            setattr(article, LEASE_ATTR, lease)
            produced = True
            yield article
        if not produced:
            self.settle(lease[0])

    def article_failed(self, failure: Failure) -> None:
        super().article_failed(failure)
        self.settle(failure.request.meta.get("cluster_key"))  # type: ignore[attr-defined]

    def _scraped(self, item: Any) -> None:
        lease = getattr(item, LEASE_ATTR, None)
        if lease:
            self._settled(lease[0])

    def _not_archived(self, item: Any) -> None:
        lease = getattr(item, LEASE_ATTR, None)
        if lease:
            self.settle(lease[0])

    def _request_dropped(self, request: scrapy.Request) -> None:
        self.settle(request.meta.get("cluster_key"))


class ClusterArchivePipeline(ArchivePipeline):
    """The archive pipeline of a worker: claim, write into this folder, record in Redis."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.shared = SharedState.from_settings(crawler.settings)
        local = self.archive
        local.close()
        self.archive = SharedArchive(
            local.root, shared=self.shared, channels=local.channels, images=local.images,
            image_prefix=local.image_prefix, compact=local.compact, fsync=local.fsync,
            refresh=local.refresh,
        )  # fmt: skip
        self.folder = str(local.root.resolve())

    def close_spider(self) -> None:
        super().close_spider()
        self.shared.close()

    def _article_gone(self, key: str, url: str, reason: str) -> None:
        super()._article_gone(key, url, reason)
        self.shared.mark_gone(key, reason)

    def _article_failed(self, key: str, url: str, channel: str, reason: str,
                        doc_id: str = "") -> None:  # fmt: skip
        super()._article_failed(key, url, channel, reason, doc_id)
        self.shared.mark_failed(key, url, channel, reason, doc_id)

    def process_item(self, item: Article) -> Article:
        lease = getattr(item, LEASE_ATTR, None)
        spider = self.crawler.spider
        token = getattr(spider, "token", "")
        if not lease or not lease[0]:
            return super().process_item(item)
        key, gen = lease
        verdict = self.shared.claim(key, token, gen)
        if verdict != "ok":
            self.crawler.stats.inc_value(f"cluster/skipped_{verdict}")
            why = "already archived" if verdict == "done" else "lease lost to another worker"
            raise DropItem(f"{item.url}: {why}")
        super().process_item(item)
        rec = self.archive.index.get(article_key(item)) or self.archive.index.by_url(item.url)
        if rec is not None:
            self.shared.done(key, token, gen, rec, [item.url, key if "/" in key else ""],
                             folder=self.folder, worker=token)  # fmt: skip
        return item


class FeedMiddleware:
    """Turns a crawl into the cluster's feeder: article requests are offered to Redis.

    A spider middleware so the roll spider stays as it is: it decides what to request (against
    the cluster's records, see ``SinaSpider.start``) and this sends the requests to the queue.
    Enabled by ``NEWSSPIDER_REDIS_URL``; the worker's own requests pass untouched.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.shared = SharedState.from_settings(crawler.settings)
        self.token = new_token("feeder")
        self.ttl = max(5.0, float(crawler.settings.getfloat("NEWSSPIDER_REDIS_LEASE", 300)))
        self._beat = LoopingCall(self.shared.feeder_alive, self.token, self.ttl)
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.get("NEWSSPIDER_REDIS_URL"):
            # off: not a cluster crawl; no message, or Scrapy logs "Disabled ..."
            raise NotConfigured()
        return cls(crawler)

    def _opened(self, spider: scrapy.Spider) -> None:
        if not isinstance(spider, WorkerSpider):
            self._beat.start(self.ttl / 3, now=True)

    def _closed(self, spider: scrapy.Spider) -> None:
        if self._beat.running:
            self._beat.stop()
            self.shared.feeder_alive(self.token, 0)
        self.shared.close()

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        spider = self.crawler.spider
        async for obj in result:
            if (isinstance(obj, scrapy.Request) and not isinstance(spider, WorkerSpider)
                    and obj.callback == getattr(spider, "parse_article", None)):  # fmt: skip
                self.offer(obj)
            else:
                yield obj

    def offer(self, request: scrapy.Request) -> None:
        stats = self.crawler.stats
        assert stats is not None
        meta = {k: v for k, v in request.meta.items()
                if k in _FED_META}  # fmt: skip
        url = request.meta.get("article_url", request.url)
        key = request.meta.get("article_key") or doc_id_from_url(url) or url
        if self.shared.offer(key, url, meta):
            stats.inc_value("crawl/fed")
        else:
            stats.inc_value("crawl/already_queued")
