"""A replay middleware for tests that lets loopback URLs through to the test's HTTP server.

Image tests need the article page to come from a saved copy (its canonical URL is an https Sina
URL, which a loopback server cannot be) while the images come from a real socket (to count
requests, serve broken bodies and redirect). Every other URL is answered from the replay
directory as usual, so nothing reaches the internet.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.http import Request, Response

from newsspider.crawl.middlewares import ReplayDownloaderMiddleware

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class LoopbackPassThroughReplay(ReplayDownloaderMiddleware):
    def process_request(self, request: Request) -> Response | None:  # type: ignore[override]
        if urlsplit(request.url).hostname in LOOPBACK:
            return None
        return super().process_request(request)
