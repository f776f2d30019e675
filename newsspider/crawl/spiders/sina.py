"""``sina``: crawl channels through the roll API, incrementally (``scrapy crawl sina -a
channel=china``).

Routing only: roll answers are read by :mod:`newsspider.crawl.roll`, pages by the page objects,
posts written by the archive pipeline. What this spider decides is *what to request*:

- Channels are crawled one after another, in the order given, and a channel's pages one after
  another, so that "the first channel" an article is reached through is well defined (it is filed
  there) and so that each page can decide whether the next one is worth reading.
- Each roll item is looked up in the archive index *before* its request is made: an archived
  article is skipped unless the list's ``mtime`` is newer than the one stored (or ``refresh``).
- A channel stops at ``pages``, at the first item older than ``since``, at the end of the list,
  or when a whole page held only articles already archived (the incremental stop); the crawl
  stops at ``limit`` article requests.
- After a run that did not finish (killed, crashed, paused), a channel's incremental stop stays
  off until the listing is past the oldest item that run had listed (its *floor*, kept in
  ``.newsspider/run.json``): the articles it listed but never fetched are not skipped.
- Articles the index holds as ``failed`` are requested again at the start (bounded by
  ``NEWSSPIDER_MAX_ATTEMPTS`` runs), wherever the roll list has moved them.
- Requests carry only JSON-able meta and spider-method callbacks, so ``JOBDIR`` can pause and
  resume a crawl.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from newsspider.archive.channels import DEFAULT_CHANNEL, Channel
from newsspider.archive.index import Record
from newsspider.archive.records import ArticleRecords
from newsspider.archive.runstate import COMPLETE, STOPPED, RunState, sweep_temp_files
from newsspider.cluster import records_from_settings
from newsspider.cluster import role as cluster_role
from newsspider.crawl.context import CRAWL
from newsspider.crawl.middlewares import SAME_SITE_META
from newsspider.crawl.options import CrawlArguments
from newsspider.crawl.roll import RollError, RollItem, parse_roll
from newsspider.crawl.spiders.base import (
    ArticleSpiderBase,
    failure_reason,
    network_reason,
    with_retries,
)

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
#: a list that never ends (an API gone wrong) must not keep a crawl going for ever
MAX_PAGES = 1000
#: index statuses whose post is on disk and good: skipped unless the list says it changed
SETTLED = frozenset({"archived", "imported", "gone"})
#: the roll API is served to Sina's own list pages; RSSHub sends the same
ROLL_HEADERS = {"Referer": "https://finance.sina.com.cn/"}


def _stamp(rfc1123: str) -> int | None:
    try:
        return int(parsedate_to_datetime(rfc1123).timestamp()) if rfc1123 else None
    except (TypeError, ValueError):
        return None


class SinaSpider(ArticleSpiderBase):
    name = "sina"
    archive_role = CRAWL

    def __init__(
        self,
        channel: str = "",
        pages: str | int | None = None,
        limit: str | int | None = None,
        since: str = "",
        until: str = "",
        refresh: str | bool = False,
        template: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        #: the arguments as given (``-a`` text or the command's values), checked in
        #: :meth:`from_crawler` where the channel table is known (:class:`CrawlArguments`)
        self.given = {"channel": channel, "pages": pages, "limit": limit, "since": since,
                      "until": until, "refresh": refresh, "template": template}  # fmt: skip
        self.arguments = CrawlArguments(channels=())
        self.max_pages: int | None = None
        self.limit: int | None = None
        self.since: int | None = None
        self.until: int | None = None
        self.refresh = False
        self.template = ""
        self.channels: list[Channel] = []
        #: where articles are recorded: this folder's index, or a cluster's records
        self.index: ArticleRecords | None = None
        #: keys (doc id, else URL) requested in this run: a second channel's copy is skipped
        self.requested: set[str] = set()
        self.articles_requested = 0
        self._limit_hit = False
        self.run_state: RunState | None = None
        #: channel -> oldest ctime an interrupted run had listed: no incremental stop above it
        self.floors: dict[str, int] = {}
        self.max_attempts = 5

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # the same checks and refusals as `newsspider crawl`'s options (a UsageError: one line)
        checked = spider.arguments = CrawlArguments.parse(
            **spider.given,
            channels_file=crawler.settings.get("NEWSSPIDER_CHANNELS_FILE"),
            default_channel=crawler.settings.get("NEWSSPIDER_CHANNEL") or DEFAULT_CHANNEL,
        )
        spider.max_pages, spider.limit = checked.pages, checked.limit
        spider.template = checked.template
        spider.since = int(checked.since.timestamp()) if checked.since else None
        spider.until = int(checked.until.timestamp()) if checked.until else None
        # ``-a refresh=1`` or NEWSSPIDER_REFRESH: the archive rewrites imported posts too
        spider.refresh = spider.context.refresh = checked.refresh or spider.context.refresh
        return spider

    # --- set-up ---
    async def start(self) -> AsyncIterator[scrapy.Request]:
        table = self.context.channels
        self.channels = [table[k] for k in self.arguments.channels]  # checked: from_crawler
        if self.context.role == CRAWL:  # a cluster's worker lists nothing: its queue feeds it
            self.report.channels = [c.key for c in self.channels]
        output = self.context.output
        self.max_attempts = self.settings.getint("NEWSSPIDER_MAX_ATTEMPTS", 5)
        if cluster_role(self.settings):
            # a cluster's feeder: what is archived is known to Redis, not to this folder
            self.index = records_from_settings(self.settings)
        else:
            self.index = self.context.index  # the pipelines' connection too
        self.run_state = RunState(output)
        self.floors = self.run_state.begin(
            [c.key for c in self.channels],
            {"pages": self.max_pages, "limit": self.limit, "since": self.since,
             "until": self.until, "refresh": self.refresh},
        )  # fmt: skip
        if self.run_state.interrupted:
            removed = sweep_temp_files(output)
            logger.warning(
                "the previous crawl (started %s) did not finish; completing what it listed "
                "(floors %s)%s", self.run_state.previous.get("started"), self.floors or "none",
                f"; removed {len(removed)} temp file(s) it left" if removed else "",
            )  # fmt: skip
        yield self.roll_request(0, 1)
        for request in self.failed_requests():
            yield request
        for request in self.template_requests():
            yield request

    def failed_requests(self) -> Iterator[scrapy.Request]:
        """Articles of these channels that failed in an earlier run, requested again now so that
        no failure is forgotten when the roll list has moved them past the incremental stop."""
        assert self.index is not None and self.crawler.stats is not None
        keys = {c.key for c in self.channels}
        for rec in self.index.failed():
            if rec.channel not in keys or not rec.url or rec.key in self.requested:
                continue
            if rec.attempts >= self.max_attempts and not self.refresh:
                continue
            if self.limit is not None and self.articles_requested >= self.limit:
                return
            yield self.request_again(rec, "retry_failed", known_key=rec.key if rec.path else None)

    def template_requests(self) -> Iterator[scrapy.Request]:
        """``--refresh --template NAME`` (#18): every archived article of these channels that
        NAME made (the index's ``template``), requested again whether the roll still lists it
        or not, so that the posts the generic extractor made are re-archived by the page
        object that now knows their skin."""
        if not (self.template and self.refresh) or self.index is None:
            return
        assert self.crawler.stats is not None
        keys = {c.key for c in self.channels}
        for rec in list(self.index.records()):
            if rec.template != self.template or rec.channel not in keys:
                continue
            if not rec.url or not rec.path or rec.status == "failed" or rec.key in self.requested:
                continue
            if self.limit is not None and self.articles_requested >= self.limit:
                return
            yield self.request_again(rec, "template", known_key=rec.key)

    def request_again(self, rec: Record, why: str, *, known_key: str | None) -> scrapy.Request:
        """An article the index already knows, requested again (``why`` names the stat): counted
        as requested like a listed one, so the ledger gives it exactly one end."""
        assert self.crawler.stats is not None
        self.requested.add(rec.key)
        self.articles_requested += 1
        self.crawler.stats.inc_value("crawl/requested")
        self.crawler.stats.inc_value(f"crawl/requested/{why}")
        return self.article_request(rec.url, rec.channel, known_key=known_key,
                                    article_key=rec.key, doc_id=rec.doc_id)  # fmt: skip

    def closed(self, reason: str) -> None:
        # the index is the crawl's (closed by the archive context, after the pipelines)
        if self.run_state is not None:
            self.run_state.finish(COMPLETE if reason == "finished" else STOPPED, reason)

    def roll_request(self, channel_no: int, page: int) -> scrapy.Request:
        channel = self.channels[channel_no]
        return scrapy.Request(
            channel.roll_url(page, PAGE_SIZE),
            callback=self.parse_roll,
            errback=self.roll_failed,
            headers=ROLL_HEADERS,
            # the next page is what decides whether to go on: ahead of queued article pages
            priority=10,
            meta={"channel_no": channel_no, "roll_page": page, SAME_SITE_META: True},
        )

    # --- the decisions ---
    def lookup(self, item: RollItem) -> Record | None:
        assert self.index is not None
        rec = self.index.get(item.doc_id) if item.doc_id else None
        return rec or self.index.by_url(item.url)

    def wanted(self, item: RollItem, rec: Record | None) -> str:
        """Why to request this item ("new", "retry", "refresh", "modified"), or "" to skip it."""
        if rec is None:
            return "new"
        if rec.status == "failed" and rec.attempts >= self.max_attempts and not self.refresh:
            return ""  # given up after that many runs (`index failed` lists it; --refresh retries)
        if rec.status not in SETTLED:
            return "retry"  # pending, failed, or marked for re-fetch by `index check --repair`
        if self.refresh and (not self.template or getattr(rec, "template", "") == self.template):
            return "refresh"
        stored = rec.roll_mtime or _stamp(rec.last_archived)
        if item.mtime and stored and item.mtime > stored:
            return "modified"
        return ""

    def parse_roll(self, response: Response) -> Iterator[scrapy.Request]:
        channel_no, page = response.meta["channel_no"], response.meta["roll_page"]
        channel = self.channels[channel_no]
        stats = self.crawler.stats
        assert stats is not None
        self.report.pages_read += 1
        stats.inc_value("roll/pages")
        try:
            roll = parse_roll(response.body)
        except RollError as exc:
            self.report.extraction.roll_page(channel.key, 0)
            stats.inc_value(f"roll/error/{exc.stat}")
            self.record_failure(response.url, f"roll API: {exc.reason}", stat="roll_failed")
            yield from self.end_channel(channel_no, f"page {page}: unusable roll answer")
            return
        for stat, message in roll.problems:
            stats.inc_value(f"roll/bad_item/{stat}")
            logger.warning("roll %s page %d: skipped an item: %s", channel.key, page, message)
        self.report.extraction.roll_page(channel.key, roll.raw_count)
        ctimes = [item.ctime for item in roll.items if item.ctime]
        oldest = min(ctimes) if ctimes else None
        floor = self.floors.get(channel.key)
        # the listing is past what an interrupted run had listed: normal rules from here on
        past_floor = floor is None or (oldest is not None and oldest < floor)

        candidates = new = 0
        older = False
        for item in roll.items:
            if self.until is not None and item.ctime and item.ctime > self.until:
                stats.inc_value("crawl/skipped_until")
                continue
            if self.since is not None and item.ctime and item.ctime < self.since:
                older = True
                stats.inc_value("crawl/skipped_since")
                continue
            if self._limit_hit:
                break
            candidates += 1
            if item.key in self.requested:
                stats.inc_value("crawl/skipped_duplicate")
                continue
            rec = self.lookup(item)
            why = self.wanted(item, rec)
            if not why:
                stats.inc_value("crawl/skipped_archived")
                continue
            new += 1
            self.requested.add(item.key)
            self.articles_requested += 1
            stats.inc_value("crawl/requested")
            stats.inc_value(f"crawl/requested/{why}")
            yield self.article_request(
                item.url,
                channel.key,
                roll_ctime=item.ctime,
                roll_mtime=item.mtime,
                roll_title=item.title,
                # "known": a post exists (a 404 then means gone, not failed)
                known_key=rec.key if rec is not None and rec.path else None,
                article_key=rec.key if rec is not None else item.key,
                doc_id=item.doc_id,
            )
            if self.limit is not None and self.articles_requested >= self.limit:
                self._limit_hit = True
        logger.info(
            "roll %s page %d: %d items, %d requested, %d already archived or seen, %d broken",
            channel.key, page, len(roll.items), new, candidates - new, len(roll.problems),
        )  # fmt: skip

        stop = ""
        if self._limit_hit:
            stop = f"--limit {self.limit} reached"
        elif older:
            stop = "reached items older than --since"
        elif roll.raw_count == 0:
            stop = "end of the list (empty page)"
            if page == 1:
                stats.inc_value("roll/error/empty")
                logger.warning("roll %s page 1 is empty: %s", channel.key, response.url)
        elif candidates and not new and past_floor:
            stop = "a whole page already archived (incremental stop)"
        elif self.max_pages is not None and page >= self.max_pages:
            stop = f"--pages {self.max_pages} read"
        elif roll.total is not None and page * PAGE_SIZE >= roll.total:
            stop = "end of the list (total reached)"
        elif page >= MAX_PAGES:
            stop = f"safety cap of {MAX_PAGES} pages"
        if self.run_state is not None:
            self.run_state.page_read(channel.key, page, oldest)
            if floor is not None and (past_floor or stop.startswith("end of the list")):
                self.floors.pop(channel.key, None)
                self.run_state.floor_covered(channel.key)
                logger.info("roll %s: past the interrupted run's listing", channel.key)
        if stop:
            yield from self.end_channel(channel_no, f"page {page}: {stop}")
        else:
            yield self.roll_request(channel_no, page + 1)

    def end_channel(self, channel_no: int, reason: str) -> Iterator[scrapy.Request]:
        """Record why this channel ended and start the next one (unless the limit is reached)."""
        key = self.channels[channel_no].key
        self.report.stop_reasons[key] = reason
        if self.run_state is not None:
            self.run_state.channel_ended(key, reason)
        logger.info("roll %s: stopped at %s", key, reason)
        if channel_no + 1 < len(self.channels) and not self._limit_hit:
            yield self.roll_request(channel_no + 1, 1)

    def roll_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        request = failure.request  # type: ignore[attr-defined]
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("roll/error/fetch")
        if network_reason(failure) is None:
            # a list page that answered (an HTTP error, a refused redirect) and listed nothing;
            # a network outage says nothing about Sina's pages and rings no health alarm
            self.report.extraction.roll_page(self.channels[request.meta["channel_no"]].key, 0)
        else:
            self.crawler.stats.inc_value("roll/error/network")
        reason = with_retries(failure_reason(failure), request.meta)
        self.record_failure(request.url, f"roll API: {reason}", stat="roll_failed")
        yield from self.end_channel(
            request.meta["channel_no"], f"page {request.meta['roll_page']}: roll API failed"
        )
