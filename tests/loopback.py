"""A download handler that sends every request to the test's loopback server, for "live" crawls.

The crawl must see Sina's URLs (the roll API's host, ``finance.sina.com.cn`` article URLs, image
hosts), because the spider, the page objects and the archive key everything on them; the bytes
must come from :class:`server.LocalHTTPServer`, which can be slow, fail and recover on purpose.
So the swap happens below every middleware, in the download handler: robots.txt, the
User-Agent, retries, throttling and the download slots all work on the real URLs and the real
socket, and only the socket's address is the loopback's. The server sees the path and query
unchanged (``/robots.txt``, ``/api/roll/get?...``, ``/china/2023-01-01/doc-i....shtml``).

Enable with ``-s NEWSSPIDER_TEST_LOOPBACK=http://127.0.0.1:PORT`` and
``-s DOWNLOAD_HANDLERS={"http": "loopback.LoopbackDownloadHandler", "https": ...}`` (the tests
directory on ``PYTHONPATH``): see :func:`faultcrawl.loopback_args`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Request, Response

HANDLER = "loopback.LoopbackDownloadHandler"


class LoopbackDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.base = crawler.settings.get("NEWSSPIDER_TEST_LOOPBACK", "").rstrip("/")
        if not self.base.startswith("http://127.0.0.1:"):
            raise RuntimeError("NEWSSPIDER_TEST_LOOPBACK must be http://127.0.0.1:PORT")

    async def download_request(self, request: Request) -> Response:
        parts = urlsplit(request.url)
        target = self.base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = await super().download_request(request.replace(url=target))
        return response.replace(url=request.url)
