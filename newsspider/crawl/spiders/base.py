"""What the single-URL fetch and the channel crawl share: the article callback and the record of
what failed and why."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, ClassVar

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
from newsspider.crawl.context import WORKER, ArchiveContext
from newsspider.crawl.middlewares import SAME_SITE_META, HopRefused
from newsspider.crawl.report import ArticleLedger, RunReport
from newsspider.crawl.signals import article_failed, article_gone
from newsspider.pages import extract
from newsspider.pages.base import vet_dates
from newsspider.pages.generic import fallback_of

logger = logging.getLogger(__name__)

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


class ArticleSpiderBase(scrapy.Spider):
    """Turns article responses into :class:`Article` items; gives every request one end.

    The run's figures go into the crawl's report (``self.report``, the archive context's), not
    into attributes of the spider: whoever started the crawl reads them from the crawler."""

    #: what this spider's run is to the output folder (newsspider.crawl.context)
    archive_role: ClassVar[str] = WORKER
    context: ArchiveContext
    report: RunReport

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # made after Spider.from_crawler connected the spider's close: the context's own close
        # (the report's verdict, the index) runs after the spider's
        spider.context = ArchiveContext.from_crawler(crawler)
        spider.report = spider.context.report
        for handler, signal in (
            (spider._item_scraped, signals.item_scraped),
            (spider._item_dropped, signals.item_dropped),
            (spider._item_error, signals.item_error),
            (spider._spider_error, signals.spider_error),
            (spider._request_dropped, signals.request_dropped),
            (spider._request_sent, signals.request_reached_downloader),
        ):
            crawler.signals.connect(handler, signal=signal)
        return spider

    @property
    def ledger(self) -> ArticleLedger:
        return self.report.ledger

    # --- the ledger's inputs ---
    def record_failure(self, url: str, reason: str, stat: str = "failed") -> None:
        """A failed request (see :meth:`RunReport.fail`)."""
        self.report.fail(url, reason, stat)

    def record_end(self, url: str, state: str) -> None:
        """An article that ended archived, updated or unchanged."""
        self.report.end(url, state)

    def _response_key(self, item: Any, response: Response | None) -> str:
        meta = getattr(response, "meta", None) or {}
        url = meta.get("article_url") or getattr(item, "url", "") or getattr(response, "url", "")
        return self.ledger.key_for(str(url))

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

    def article_request(self, url: str, channel: str, **meta: Any) -> scrapy.Request:
        """An article request, entered in the ledger; it must stay on Sina at every hop
        (:class:`newsspider.crawl.middlewares.SameSiteRedirectMiddleware`)."""
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
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
        channel = response.meta.get("channel", "")
        try:
            article = extract(response.url, response.body, content_type)
        except NotAnArticle as exc:
            self.crawler.stats.inc_value(f"article/{exc.stat}")
            self.report.extraction.page(channel, exc.stat)
            url = response.meta.get("article_url", response.url)
            self.article_failure(response.meta, url, str(exc))
            return
        url = response.meta.get("article_url", response.url)
        lost = fallback_of(article)  # #18: the generic extractor made it, after this refusal
        self.report.extraction.page(channel, None, family=article.family, lost=lost)
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
        # Scrapy hands an errback the failure with its request attached
        request: scrapy.Request = failure.request  # type: ignore[attr-defined]
        url = request.meta.get("article_url", request.url)
        known = request.meta.get("known_key")
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
        reason = with_retries(failure_reason(failure), request.meta)
        self.article_failure(request.meta, url, reason)
