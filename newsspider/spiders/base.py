"""What the single-URL fetch and the channel crawl share: the article callback and the record of
what failed and why."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from newsspider.article import Article, NotAnArticle
from newsspider.pages import extract

logger = logging.getLogger(__name__)

#: Signal sent with ``key``, ``url``, ``reason`` when an archived article answers 404 on a
#: re-fetch; the archive pipeline (the one writer of the index) marks it ``gone``.
article_gone = object()


def failure_reason(failure: Failure) -> str:
    """A short, specific reason for a request that produced no response worth parsing."""
    if failure.check(HttpError):
        response = failure.value.response
        return f"HTTP {response.status}"
    if failure.check(DNSLookupError):
        return "DNS lookup failed"
    if failure.check(TimeoutError, TCPTimedOutError):
        return "timed out"
    return f"{failure.type.__name__}: {failure.getErrorMessage()}"


class ArticleSpiderBase(scrapy.Spider):
    """Turns article responses into :class:`Article` items; remembers every failure."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: URL -> reason, for the per-URL lines and the summary
        self.failures: dict[str, str] = {}

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

    def parse_article(self, response: Response) -> Iterator[Article]:
        content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
        try:
            article = extract(response.url, response.body, content_type)
        except NotAnArticle as exc:
            self.crawler.stats.inc_value(f"article/{exc.stat}")
            self.record_failure(response.meta.get("article_url", response.url), str(exc))
            return
        if not article.title.strip() and response.meta.get("roll_title"):
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
        self.record_failure(url, failure_reason(failure))
