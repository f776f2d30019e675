"""robots.txt obeyed for every request, including those that arrive while it is being fetched.

Scrapy 2.19's RobotsTxtMiddleware keeps one Deferred per host while robots.txt downloads, and
every request arriving meanwhile awaits it through ``Deferred.asFuture``, which *consumes* the
result: the first waiter gets the parser, the others get ``None`` and are let through unchecked.
A crawl that queues a roll page's fifty articles at once (ours) thus fetched disallowed pages.
Found by ``tests/test_faults.py::test_politeness_defaults_are_in_effect_in_a_real_crawl``.

The fix keeps Scrapy's middleware and changes only how a request waits: on its own Deferred,
then reading the parser (or ``None`` when robots.txt could not be fetched: allow all, as Scrapy
does) from the middleware's table once the download is over.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxt
from scrapy.http import Request
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class _NoTraceback(logging.Filter):
    """Scrapy logs a robots.txt that could not be fetched (no network, say) with the whole
    traceback; the request itself fails with its own one-line reason. Below DEBUG the line is
    kept and the traceback dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_ROBOTS_LOGGER = logging.getLogger("scrapy.downloadermiddlewares.robotstxt")


class RobotsTxtMiddleware(ScrapyRobotsTxt):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        if not any(isinstance(f, _NoTraceback) for f in _ROBOTS_LOGGER.filters):
            _ROBOTS_LOGGER.addFilter(_NoTraceback())
        return super().from_crawler(crawler)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        pending = self._parsers.get(netloc)
        if isinstance(pending, Deferred):
            done: Deferred[None] = Deferred()

            def passthrough(result: object) -> object:
                done.callback(None)
                return result  # leave the shared result to the next waiter

            pending.addBoth(passthrough)
            await maybe_deferred_to_future(done)
            parser = self._parsers.get(netloc)
            return None if isinstance(parser, Deferred) else parser
        return await super().robot_parser(request)
