"""What the single-URL fetch and the channel crawl share: the article callback and the record of
what failed and why."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    NoRouteError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from newsspider.archive.post import normalize_title
from newsspider.article import Article, NotAnArticle
from newsspider.cluster import FEEDER
from newsspider.cluster import role as cluster_role
from newsspider.health import ExtractionHealth
from newsspider.middlewares import SAME_SITE_META, HopRefused
from newsspider.pages import extract
from newsspider.pages.base import vet_dates
from newsspider.pages.generic import fallback_of

logger = logging.getLogger(__name__)

#: Signal sent with ``key``, ``url``, ``reason`` when an archived article answers 404 on a
#: re-fetch; the archive pipeline (the one writer of the index) marks it ``gone``.
article_gone = object()
#: Signal sent with ``key``, ``url``, ``channel``, ``reason``, ``doc_id`` when a crawled article
#: still failed after its retries; the archive pipeline records it ``failed`` in the index.
article_failed = object()
#: Signal sent by the archive pipeline with ``item`` and ``status`` (archived, updated,
#: unchanged, adopted) once its post is on disk: the article's end in the ledger.
article_saved = object()

#: the ends an article request can have (exit-status.md): exactly one each
END_STATES = ("archived", "updated", "unchanged", "failed")

try:  # Scrapy >= 2.14 wraps Twisted's download errors in its own
    from scrapy.exceptions import (
        DownloadConnectionRefusedError,
        DownloadFailedError,
        DownloadTimeoutError,
        ResponseDataLossError,
    )
except ImportError:  # pragma: no cover
    DownloadTimeoutError = DownloadFailedError = TimeoutError  # type: ignore[misc,assignment]
    DownloadConnectionRefusedError = ResponseDataLossError = TimeoutError  # type: ignore[misc,assignment]
try:  # Scrapy >= 2.19
    from scrapy.exceptions import CannotResolveHostError
except ImportError:  # pragma: no cover
    CannotResolveHostError = DNSLookupError  # type: ignore[misc,assignment]


def network_reason(failure: Failure) -> str | None:
    """``network: <detail>`` when the request never got an answer because the network failed
    (no DNS, refused, no route, timed out, connection lost), else None. Such a failure says
    nothing about Sina's pages: it is reported per URL and never rings the health alarm."""
    host = ""
    request = getattr(failure, "request", None)
    if request is not None:
        from scrapy.utils.httpobj import urlparse_cached

        host = urlparse_cached(request).hostname or ""
    if failure.check(DNSLookupError, CannotResolveHostError):
        return f"network: DNS lookup failed for {host or 'the host'}"
    if failure.check(ConnectionRefusedError, DownloadConnectionRefusedError):
        return f"network: connection refused by {host or 'the host'}"
    if failure.check(NoRouteError) or "No route to host" in failure.getErrorMessage():
        return f"network: no route to {host or 'the host'}"
    if failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
        return "network: timed out"
    if failure.check(ConnectionLost) or (
        failure.check(DownloadFailedError) and "ConnectionLost" in failure.getErrorMessage()
    ):
        return "network: connection lost or reset"
    if failure.check(ConnectError):
        return f"network: cannot connect ({failure.getErrorMessage()[:120]})"
    return None


def failure_reason(failure: Failure) -> str:
    """A short, specific reason for a request that produced no response worth parsing."""
    if failure.check(HttpError):
        response = failure.value.response
        return f"HTTP {response.status}"
    if failure.check(HopRefused):
        return str(failure.value.reason)
    if failure.check(IgnoreRequest) and "max redirections" in failure.getErrorMessage():
        return "too many redirects"
    if failure.check(ResponseDataLossError) or "_DataLoss" in failure.getErrorMessage():
        return "truncated body (connection closed before the announced length)"
    if "max size" in failure.getErrorMessage():
        # the live handler and the replay both cancel a body over DOWNLOAD_MAXSIZE this way
        m = re.search(r"max size \((\d+)\)", failure.getErrorMessage())
        cap = f" of {m.group(1)} bytes" if m else ""
        return f"page larger than the download size cap{cap} (DOWNLOAD_MAXSIZE)"
    network = network_reason(failure)
    if network is not None:
        return network
    return f"{failure.type.__name__}: {failure.getErrorMessage()}"


def with_retries(reason: str, meta: dict[str, Any]) -> str:
    """``HTTP 500`` -> ``HTTP 500 (after 2 retries)``: a reason says how hard we tried."""
    retries = int(meta.get("retry_times", 0) or 0)
    return f"{reason} (after {retries} retr{'y' if retries == 1 else 'ies'})" if retries else reason


class ArticleLedger:
    """Every article request of a run and its one end: archived, updated, unchanged or failed.

    Why a ledger: a request can be lost in many places (a redirect loop the duplicate filter
    swallows, a pipeline that raises, a crawl closed with requests still queued), and each
    place must not need its own bookkeeping. Requests are entered when the spider makes them;
    ends arrive from the callbacks, errbacks, pipelines and Scrapy's signals, and the first end
    of a request is its end (later ones are counted under ``newsspider/late_end`` and
    ignored). When the spider closes, :meth:`close` gives every request still open an end, so
    that ``archived + updated + unchanged + failed == requested`` holds in every summary.

    A roll page that could not be read is a failed request too: it is entered and failed at
    once (``requested`` and ``failed`` both count it; its articles were never known).
    """

    def __init__(self) -> None:
        #: key (the URL as requested) -> (state, reason) once ended, None while open
        self.entries: dict[str, tuple[str, str] | None] = {}
        #: article URL as extracted (after in-site redirects) -> the request's key
        self.aliases: dict[str, str] = {}
        #: keys whose request (or a redirect of it) reached the downloader
        self.sent: set[str] = set()
        #: keys withdrawn at close: made but never sent (the crawl stopped first)
        self.withdrawn: list[str] = []
        self.late_ends = 0

    def begin(self, key: str) -> None:
        self.entries.setdefault(key, None)

    def key_for(self, url: str) -> str:
        return url if url in self.entries else self.aliases.get(url, url)

    def end(self, key: str, state: str, reason: str = "") -> bool:
        """Record ``key``'s end; False (and nothing changes) when it already had one."""
        assert state in END_STATES, state
        if self.entries.get(key) is not None:
            self.late_ends += 1
            return False
        self.entries[key] = (state, reason)
        return True

    def open_keys(self) -> list[str]:
        return [key for key, end in self.entries.items() if end is None]

    @property
    def requested(self) -> int:
        return len(self.entries)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(END_STATES, 0)
        for end in self.entries.values():
            if end is not None:
                counts[end[0]] += 1
        return counts

    def failures(self) -> dict[str, str]:
        return {k: e[1] for k, e in self.entries.items() if e is not None and e[0] == "failed"}


class ArticleSpiderBase(scrapy.Spider):
    """Turns article responses into :class:`Article` items; gives every request one end."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: URL -> reason, for the per-URL lines and the summary (the ledger's failed ends)
        self.failures: dict[str, str] = {}
        #: every article request and its end (see :class:`ArticleLedger`)
        self.ledger = ArticleLedger()
        #: what extraction made of the article pages, per channel (the health check's input)
        self.extraction = ExtractionHealth()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        for handler, signal in (
            (spider._article_saved, article_saved),
            (spider._item_scraped, signals.item_scraped),
            (spider._item_dropped, signals.item_dropped),
            (spider._item_error, signals.item_error),
            (spider._spider_error, signals.spider_error),
            (spider._request_dropped, signals.request_dropped),
            (spider._request_sent, signals.request_reached_downloader),
            (spider._close_ledger, signals.spider_closed),
        ):
            crawler.signals.connect(handler, signal=signal)
        return spider

    # --- the ledger's inputs ---
    def record_failure(self, url: str, reason: str, stat: str = "failed") -> None:
        """A failed request: an article's (by its requested URL or the URL it was extracted
        under) or a roll page's (entered now: see :class:`ArticleLedger`)."""
        key = self.ledger.key_for(url)
        self.ledger.begin(key)
        reason = " ".join(reason.split())  # one line, whatever an exception's message held
        if not self.ledger.end(key, "failed", reason):
            logger.debug("failed %s again (%s): its first end stands", key, reason)
            self.crawler.stats.inc_value("newsspider/late_end")
            return
        self.failures[key] = reason
        self.crawler.stats.inc_value(f"newsspider/{stat}")
        logger.warning("failed %s: %s", key, reason)

    def record_end(self, url: str, state: str) -> None:
        """An article that ended archived, updated or unchanged."""
        key = self.ledger.key_for(url)
        self.ledger.begin(key)
        if not self.ledger.end(key, state):
            self.crawler.stats.inc_value("newsspider/late_end")

    def _response_key(self, item: Any, response: Response | None) -> str:
        meta = getattr(response, "meta", None) or {}
        url = meta.get("article_url") or getattr(item, "url", "") or getattr(response, "url", "")
        return self.ledger.key_for(str(url))

    def _article_saved(self, item: Any, status: str) -> None:
        state = "unchanged" if status == "adopted" else status
        if state in END_STATES:
            self.record_end(self.ledger.key_for(getattr(item, "url", "")), state)

    def _item_scraped(self, item: Any, response: Response | None = None) -> None:
        # through every pipeline; without an archive pipeline (extract) it counts as archived
        key = self._response_key(item, response)
        if self.ledger.entries.get(key) is None:
            self.record_end(key, "archived")

    def _item_dropped(self, item: Any, response: Response | None = None,
                      exception: BaseException | None = None) -> None:  # fmt: skip
        key = self._response_key(item, response)
        if self.ledger.entries.get(key) is None:
            text = str(exception or "dropped")
            url = getattr(item, "url", "")
            if url and text.startswith(f"{url}: "):
                text = text[len(url) + 2 :]
            self.record_failure(key, text or "dropped by a pipeline")

    def _item_error(self, item: Any, response: Response | None = None,
                    failure: Failure | None = None) -> None:  # fmt: skip
        key = self._response_key(item, response)
        what = f"{failure.type.__name__}: {failure.getErrorMessage()}" if failure else "error"
        self.record_failure(key, f"pipeline error: {what}"[:300])

    def _spider_error(self, failure: Failure, response: Response | None = None) -> None:
        meta = getattr(response, "meta", None) or {}
        key = meta.get("article_url") or (getattr(response, "url", "") if meta.get("roll_page")
                                          else "")  # fmt: skip
        if key:
            what = f"{failure.type.__name__}: {failure.getErrorMessage()}"
            self.record_failure(str(key), f"spider error: {what}"[:300])

    def _request_dropped(self, request: scrapy.Request) -> None:
        key = request.meta.get("article_url")
        if not key:
            return
        if request.meta.get("redirect_urls"):
            reason = f"redirected to {request.url}, which this run already requested"
        else:
            reason = "dropped by the scheduler (a duplicate of a request already made)"
        self.record_failure(str(key), reason)

    def _request_sent(self, request: scrapy.Request) -> None:
        key = request.meta.get("article_url")
        if key:
            self.ledger.sent.add(str(key))

    def _close_ledger(self, reason: str = "") -> None:
        """Every request still open gets its end: one sent to the network but never answered
        (the crawl stopped under it) fails; one never sent (still queued when CLOSESPIDER_*,
        Ctrl-C or an engine stop ended the crawl) is withdrawn: not requested, counted apart
        (``crawl/skipped_stopped``), and the next crawl lists it again."""
        stats = self.crawler.stats
        if cluster_role(self.settings) == FEEDER:
            return  # a cluster's feeder: its article requests went to Redis, not to the network
        for key in self.ledger.open_keys():
            if key in self.ledger.sent:
                why = f"the crawl stopped ({reason or 'closed'}) before its answer was processed"
                self.record_failure(key, why)
            elif reason in ("", "finished"):
                # a finished crawl sends everything it queued: this one was filtered on the way
                # (a spider middleware, a request_scheduled handler) without a signal
                self.record_failure(key, "never sent: filtered out before the download")
            else:
                del self.ledger.entries[key]
                self.ledger.withdrawn.append(key)
                if stats is not None:
                    stats.inc_value("crawl/skipped_stopped")
        if stats is not None:
            for state, n in self.ledger.counts().items():
                stats.set_value(f"articles/{state}", n)
            stats.set_value("articles/requested", self.ledger.requested)
        if hasattr(self, "articles_requested"):  # the crawl's summary reads it
            self.articles_requested = self.ledger.requested

    def article_request(self, url: str, channel: str, **meta: Any) -> scrapy.Request:
        """An article request, entered in the ledger; it must stay on Sina at every hop
        (:class:`newsspider.middlewares.SameSiteRedirectMiddleware`)."""
        self.ledger.begin(url)
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            meta={"channel": channel, "article_url": url, SAME_SITE_META: True, **meta},
        )

    def article_failure(self, meta: dict[str, Any], url: str, reason: str) -> None:
        """A failed article: reported, and (for a crawl, whose requests carry the article's
        key) recorded in the index through the archive pipeline, to be retried next run."""
        self.record_failure(url, reason)
        key = meta.get("article_key")
        if key:
            self.crawler.signals.send_catch_log(
                article_failed, key=key, url=url, channel=meta.get("channel", ""),
                reason=reason, doc_id=meta.get("doc_id", ""),
            )  # fmt: skip

    def parse_article(self, response: Response) -> Iterator[Article]:
        content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
        channel = response.meta.get("channel", "")
        try:
            article = extract(response.url, response.body, content_type)
        except NotAnArticle as exc:
            self.crawler.stats.inc_value(f"article/{exc.stat}")
            self.extraction.page(channel, exc.stat)
            url = response.meta.get("article_url", response.url)
            self.article_failure(response.meta, url, str(exc))
            return
        url = response.meta.get("article_url", response.url)
        lost = fallback_of(article)  # #18: the generic extractor made it, after this refusal
        self.extraction.page(channel, None, family=article.family, lost=lost)
        if lost is not None:
            self.crawler.stats.inc_value(f"article/generic_after/{lost}")
            logger.warning("%s: no page object read it (%s); the generic extractor did", url, lost)
        self.ledger.aliases.setdefault(article.url, url)  # pipelines report by article.url
        if not normalize_title(article.title) and response.meta.get("roll_title"):
            # the roll list's headline is often cut ("..."): only for a page without its own
            article.title = response.meta["roll_title"]
        article.channel = response.meta.get("channel", article.channel)
        article.roll_ctime = response.meta.get("roll_ctime")
        article.roll_mtime = response.meta.get("roll_mtime")
        bad_date = vet_dates(article)
        if bad_date:
            self.crawler.stats.inc_value("article/bad_date")
            if bad_date.startswith("bad date"):  # no usable date left: the article fails
                self.article_failure(response.meta, url, bad_date)
                return
            logger.info("%s: %s", url, bad_date)
        self.crawler.stats.inc_value(f"article/extracted/{article.family}")
        yield article

    def article_failed(self, failure: Failure) -> None:
        url = failure.request.meta.get("article_url", failure.request.url)
        known = failure.request.meta.get("known_key")
        if known and failure.check(HttpError) and failure.value.response.status in (404, 410):
            # an article archived before that Sina no longer serves: its post stays
            self.crawler.stats.inc_value("newsspider/gone")
            self.crawler.signals.send_catch_log(
                article_gone, key=known, url=url, reason=failure_reason(failure)
            )
            logger.warning("gone %s: %s on a re-fetch; its post is kept", url,
                           failure_reason(failure))  # fmt: skip
            self.record_end(url, "unchanged")  # its post stays as it was (the index: gone)
            return
        reason = with_retries(failure_reason(failure), failure.request.meta)
        self.article_failure(failure.request.meta, url, reason)
