"""What the single-URL fetch and the channel crawl share: the article callback and the record of
what failed and why."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from newsspider.archive.post import normalize_title
from newsspider.article import Article, NotAnArticle
from newsspider.health import ExtractionHealth
from newsspider.pages import extract

logger = logging.getLogger(__name__)

#: Signal sent with ``key``, ``url``, ``reason`` when an archived article answers 404 on a
#: re-fetch; the archive pipeline (the one writer of the index) marks it ``gone``.
article_gone = object()
#: Signal sent with ``key``, ``url``, ``channel``, ``reason``, ``doc_id`` when a crawled article
#: still failed after its retries; the archive pipeline records it ``failed`` in the index.
article_failed = object()

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


def failure_reason(failure: Failure) -> str:
    """A short, specific reason for a request that produced no response worth parsing."""
    if failure.check(HttpError):
        response = failure.value.response
        return f"HTTP {response.status}"
    if failure.check(DNSLookupError):
        return "DNS lookup failed"
    if failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
        return "timed out"
    if failure.check(ResponseDataLossError) or "_DataLoss" in failure.getErrorMessage():
        return "truncated body (connection closed before the announced length)"
    if "max size" in failure.getErrorMessage():
        # the live handler and the replay both cancel a body over DOWNLOAD_MAXSIZE this way
        m = re.search(r"max size \((\d+)\)", failure.getErrorMessage())
        cap = f" of {m.group(1)} bytes" if m else ""
        return f"page larger than the download size cap{cap} (DOWNLOAD_MAXSIZE)"
    if failure.check(DownloadConnectionRefusedError):
        return "connection refused"
    if failure.check(DownloadFailedError) and "ConnectionLost" in failure.getErrorMessage():
        return "connection lost or reset"
    return f"{failure.type.__name__}: {failure.getErrorMessage()}"


def with_retries(reason: str, meta: dict[str, Any]) -> str:
    """``HTTP 500`` -> ``HTTP 500 (after 2 retries)``: a reason says how hard we tried."""
    retries = int(meta.get("retry_times", 0) or 0)
    return f"{reason} (after {retries} retr{'y' if retries == 1 else 'ies'})" if retries else reason


class ArticleSpiderBase(scrapy.Spider):
    """Turns article responses into :class:`Article` items; remembers every failure."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: URL -> reason, for the per-URL lines and the summary
        self.failures: dict[str, str] = {}
        #: what extraction made of the article pages, per channel (the health check's input)
        self.extraction = ExtractionHealth()

    def record_failure(self, url: str, reason: str, stat: str = "failed") -> None:
        self.failures[url] = reason
        self.crawler.stats.inc_value(f"newsspider/{stat}")
        logger.warning("failed %s: %s", url, reason)

    def article_request(self, url: str, channel: str, **meta: Any) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            meta={"channel": channel, "article_url": url, **meta},
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
        self.extraction.page(channel, None)
        if not normalize_title(article.title) and response.meta.get("roll_title"):
            # the roll list's headline is often cut ("..."): only for a page without its own
            article.title = response.meta["roll_title"]
        article.channel = response.meta.get("channel", article.channel)
        article.roll_ctime = response.meta.get("roll_ctime")
        article.roll_mtime = response.meta.get("roll_mtime")
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
            return
        reason = with_retries(failure_reason(failure), failure.request.meta)
        self.article_failure(failure.request.meta, url, reason)
