"""``article``: fetch the given article URLs (``scrapy crawl article -a url=URL``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler

from newsspider.article import DEFAULT_CHANNEL
from newsspider.crawl.context import FETCH
from newsspider.crawl.options import channels
from newsspider.crawl.spiders.base import ArticleSpiderBase
from newsspider.errors import UsageError
from newsspider.markup.urls import canonical_article_url, offsite_host
from newsspider.pages.base import doc_id_from_url


class ArticleSpider(ArticleSpiderBase):
    name = "article"
    archive_role = FETCH

    def __init__(self, url: str = "", urls: str = "", channel: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        given = [u for u in [url, *urls.split()] if u]
        self.urls = [canonical_article_url(u) for u in given]
        self.channel = channel

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # the same checks and refusals as `newsspider fetch` (a UsageError: one line)
        if not spider.urls:
            raise UsageError("give at least one article URL: -a url=URL")
        settings = crawler.settings
        given = spider.channel or settings.get("NEWSSPIDER_CHANNEL") or DEFAULT_CHANNEL
        spider.channel = channels([given], settings.get("NEWSSPIDER_CHANNELS_FILE"))[0]
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        channel = self.channel
        for url in dict.fromkeys(self.urls):  # a URL given twice is one article
            offsite = offsite_host(url)
            if offsite is not None:  # never requested: not even its robots.txt
                self.record_failure(url, f"off-site URL: {offsite} is not a Sina article host")
                continue
            # the key a crawl would give it (doc id, else the URL): a failure is then recorded
            # in the index (``index failed``) and retried by later runs, as a crawl's are
            doc_id = doc_id_from_url(url)
            yield self.article_request(url, channel, article_key=doc_id or url, doc_id=doc_id)
