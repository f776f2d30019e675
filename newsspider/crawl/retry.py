"""Retries that honour ``Retry-After``: Scrapy's RetryMiddleware retries a 429 or 503 at once.

A server that says "come back in 20 seconds" and is asked again immediately will say it again
(and may block us); the retry budget is spent in a second. This subclass keeps everything of
Scrapy's (which codes and exceptions retry, ``RETRY_TIMES``, stats, ``dont_retry``) and only
adds the wait: when a retried answer carries ``Retry-After`` (seconds or an HTTP date), the retry
is sent after that delay, up to ``NEWSSPIDER_RETRY_AFTER_MAX`` seconds. A server asking for
more than that is not retried in this run at all (honouring it beats hammering it): the article
is recorded as failed and a later run retries it.

The wait is asynchronous: other requests go on meanwhile.
"""

from __future__ import annotations

import time
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, cast

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet import task
from twisted.internet.interfaces import IReactorTime

DEFAULT_MAX_WAIT = 60.0


#: a Retry-After beyond this (a year) is read as "not in this run" without doing arithmetic on
#: a number of any size (``Retry-After: 1`` followed by 400 zeros)
_FAR = 365 * 24 * 3600.0


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """``Retry-After: 20`` or ``Retry-After: <HTTP-date>`` -> seconds from now (>= 0), or None
    for anything else (``²``, ``-5``, ``1.5``, ``soon``, a date that is no date). A server's
    header never raises here: junk means "no advice", and the retry goes on as Scrapy's would."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():  # str.isdigit() is also true of "²" and "٣"
        return float(text) if len(text) <= 10 else _FAR
    try:
        parsed = parsedate_to_datetime(text)
        if parsed.tzinfo is None:  # a date without a zone: GMT, as HTTP dates are
            parsed = parsed.replace(tzinfo=UTC)
        when = parsed.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None
    return min(_FAR, max(0.0, when - (time.time() if now is None else now)))


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, plus a bounded wait for ``Retry-After``."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("NEWSSPIDER_RETRY_AFTER_MAX", DEFAULT_MAX_WAIT)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        stats: Any = self.crawler.stats
        if wait is not None and wait > self.max_wait:
            stats.inc_value("retry/retry_after_too_long")
            return response  # fails now, with its status; a later run tries again
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        if wait:
            stats.inc_value("retry/retry_after_waits")
            from twisted.internet import reactor

            clock = cast(IReactorTime, reactor)  # the module stands in for the installed reactor
            await maybe_deferred_to_future(task.deferLater(clock, wait, lambda: None))
        return retry
