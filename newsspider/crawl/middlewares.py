"""Downloader middlewares: replay a saved crawl, record a live one (a replay directory or a
WARC), and keep every article hop on Sina.

The saved crawls' formats are Scrapy-free, in :mod:`newsspider.archive.replay` (the replay
directory of ``docs/REPLAY.md``) and :mod:`newsspider.archive.warc`; this module is their Scrapy
side. Positions in ``DOWNLOADER_MIDDLEWARES`` matter; use :data:`REPLAY_MIDDLEWARE_ORDER`,
:data:`RECORD_MIDDLEWARE_ORDER` and :data:`WARC_RECORD_MIDDLEWARE_ORDER`, whose comments say
why.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy import signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, NotConfigured
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.httpobj import urlparse_cached
from w3lib.url import canonicalize_url, safe_url_string

from newsspider.archive.replay import REDIRECT_STATUSES, BodyTooLarge, RecordDir
from newsspider.archive.warc import ReplaySource, WarcFile, check_replay_source
from newsspider.markup.urls import offsite_host

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

__all__ = [
    "RECORD_MIDDLEWARE_ORDER",
    "REPLAY_MIDDLEWARE_ORDER",
    "SAME_SITE_META",
    "WARC_RECORD_MIDDLEWARE_ORDER",
    "HopRefused",
    "RecordDownloaderMiddleware",
    "ReplayDownloaderMiddleware",
    "SameSiteMetaRefreshMiddleware",
    "SameSiteRedirectMiddleware",
    "WarcRecordDownloaderMiddleware",
]

#: Between DownloaderStats (850) and HttpCacheMiddleware (900). When ``process_request`` returns
#: a response, the middlewares numbered below this one have already run their
#: ``process_request`` (user agent, cookies, Accept-Encoding, request stats: the request looks
#: as it would on the wire), those above it (the HTTP cache) do not run theirs, so a cached page
#: can never shadow the archive, and the download handler and the downloader's slots, where
#: DOWNLOAD_DELAY and AutoThrottle act, are never reached. Every middleware's
#: ``process_response`` still runs on the replayed response whatever its number, so
#: RedirectMiddleware (600) follows redirect rows, RetryMiddleware (550) sees 5xx rows, and
#: HttpCompressionMiddleware (590) passes the already-decoded bodies through.
REPLAY_MIDDLEWARE_ORDER = 875

#: Between MetaRefreshMiddleware (580) and HttpCompressionMiddleware (590). ``process_response``
#: runs from high numbers to low, so this middleware gets the body after HttpCompression
#: undid the Content-Encoding (the format stores decoded bodies) and before RetryMiddleware
#: (550) or MetaRefreshMiddleware (580) can swap the response for a new request. Redirects
#: that RedirectMiddleware (600) follows never get this far; they are recorded from the
#: ``response_downloaded`` signal instead, which fires for every response a download handler
#: produces.
RECORD_MIDDLEWARE_ORDER = 585

REPLAY_FLAG = "replay"
#: the headers ``responsetypes.from_headers`` decides by
_TYPE_HEADERS = (b"Content-Type", b"Content-Encoding", b"Content-Disposition")

logger = logging.getLogger(__name__)


def _header(response: Response, name: str) -> str:
    """A header value as text; latin-1 because that is what HTTP headers carry byte for byte."""
    value = response.headers.get(name)
    return value.decode("latin-1") if value is not None else ""


class ReplayDownloaderMiddleware:
    """Answer every request from a replay directory or a WARC file, so a crawl runs offline.

    Enabled by ``NEWSSPIDER_REPLAY_DIR``, a directory or a ``.warc``/``.warc.gz`` file (see
    :mod:`newsspider.archive.warc`). Pages, images and robots.txt alike are answered; a URL missing
    from the archive is a 404 with an empty body, as the format says, so nothing ever falls through
    to a download handler. The archive is loaded (and checked) when the crawler is built, so a
    broken archive stops the crawl before its first request.
    """

    def __init__(
        self, replay: ReplaySource, stats: StatsCollector | None = None, maxsize: int = 0
    ) -> None:
        self.replay = replay
        self.stats = stats
        #: DOWNLOAD_MAXSIZE: a replayed body over it is cancelled as a live download would be
        self.maxsize = maxsize
        #: (Content-Type, Content-Encoding, Content-Disposition) -> what they make of a response
        self._classes: dict[tuple[bytes | None, ...], type[Response]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        directory = crawler.settings.get("NEWSSPIDER_REPLAY_DIR")
        if not directory:
            # off: NEWSSPIDER_REPLAY_DIR is not set; no message, or Scrapy logs "Disabled ..."
            raise NotConfigured()
        # refused whole, before the engine starts (ReplayDamaged: exit 2 for `newsspider`,
        # a one-line start-up error for `scrapy crawl`); the CLI checked it already
        source = check_replay_source(directory)
        problem = getattr(source, "problem", None)
        if problem:  # a WARC whose last record a crash cut short: the rest still replays
            logger.warning("%s", problem)
        return cls(source, crawler.stats, crawler.settings.getint("DOWNLOAD_MAXSIZE", 0))

    def _check_size(self, request: Request, size: int) -> None:
        """A body over ``download_maxsize`` (request meta, else DOWNLOAD_MAXSIZE) fails the way
        Scrapy's HTTP handler fails it live (same exception, same message), so a replayed crawl
        refuses a 50 MB page, or an image over its cap, exactly as a live one does."""
        maxsize = int(request.meta.get("download_maxsize", self.maxsize) or 0)
        if maxsize and size > maxsize:
            self._inc("replay/over_maxsize")
            message = (
                f"Received {size} bytes which is larger than download max size ({maxsize}) "
                f"in request {request}."
            )
            logger.warning("%s", message)
            raise DownloadCancelledError(message)

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    def _response_class(self, headers: Headers, url: str, body: bytes) -> type[Response]:
        """``responsetypes.from_args``, remembered for the three headers it looks at first: a
        replay answers thousands of requests with a handful of content types, and the guess
        (a mimetypes lookup, then the class table) costs more than building the response."""
        key = tuple(headers.get(name) for name in _TYPE_HEADERS)
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = responsetypes.from_headers(headers)
        if cls is Response:  # the headers do not decide: the URL, then the body, as Scrapy does
            cls = responsetypes.from_args(headers=headers, url=url, body=body)
        return cls

    def process_request(self, request: Request) -> Response:
        # HttpCacheMiddleware's process_response still runs on replayed responses; an archive
        # copied into the HTTP cache would later pass for a live answer.
        request.meta["dont_cache"] = True
        entry = self.replay.lookup(request.url)
        if entry is None:
            self._inc("replay/misses")
            status, headers, body = 404, Headers(), b""
        else:
            self._inc("replay/hits")
            if entry.location is not None:
                self._inc("replay/redirects")
            status, headers = entry.status, Headers(entry.headers)
            # A server sends no body to HEAD; neither does the archive. The cap is checked
            # before the body is read (its size on disk; a WARC payload as it is read).
            maxsize = int(request.meta.get("download_maxsize", self.maxsize) or 0)
            try:
                body = b"" if request.method == "HEAD" else entry.read_body(maxsize)
            except BodyTooLarge as exc:
                self._check_size(request, exc.size)
                raise  # pragma: no cover - _check_size raised already
            self._check_size(request, len(body))
            self._inc("replay/response_bytes", len(body))
        # A directory stores decoded bodies and no Content-Encoding, so HttpCompressionMiddleware
        # passes them through untouched (a stored .gz file is a body, not an encoding); a WARC
        # stores the payload as transferred with its headers, and is decoded as a live answer.
        return self._response_class(headers, request.url, body)(
            url=request.url,
            status=status,
            headers=headers,
            body=body,
            flags=[REPLAY_FLAG],
            request=request,
        )


class RecordDownloaderMiddleware:
    """Write every response of a live crawl into a replay directory.

    Enabled by ``NEWSSPIDER_RECORD_DIR``. Bodies are recorded after HttpCompressionMiddleware
    decoded them; redirects become ``->Location`` rows. A recorded crawl replays to the same
    responses. HEAD responses are not recorded: their empty body would overwrite the page.

    Recording while replaying copies pages but not redirect rows: a replayed redirect is never
    downloaded, so no signal fires for it, and RedirectMiddleware consumes it before
    ``process_response`` gets here.
    """

    #: Rewriting the whole manifest after every response is quadratic over a long crawl; once a
    #: second bounds what a killed crawl can lose, and spider_closed writes the rest.
    flush_interval: float = 1.0

    def __init__(self, record: RecordDir, stats: StatsCollector | None = None) -> None:
        self.record = record
        self.stats = stats
        # Redirects already recorded from the signal, so process_response does not count them
        # twice when RedirectMiddleware lets one through.
        self._seen_redirects: weakref.WeakSet[Response] = weakref.WeakSet()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        directory = crawler.settings.get("NEWSSPIDER_RECORD_DIR")
        if not directory:
            # off: NEWSSPIDER_RECORD_DIR is not set; no message, or Scrapy logs "Disabled ..."
            raise NotConfigured()
        middleware = cls(RecordDir(directory, flush_interval=cls.flush_interval), crawler.stats)
        crawler.signals.connect(middleware._response_downloaded, signals.response_downloaded)
        crawler.signals.connect(middleware._spider_closed, signals.spider_closed)
        return middleware

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    def _record_redirect(self, request: Request, response: Response) -> bool:
        """Record ``response`` as a redirect row if it is one; tell whether it was."""
        location = response.headers.get("Location")
        if response.status not in REDIRECT_STATUSES or location is None:
            return False
        # Resolved the way RedirectMiddleware resolves it, so the replay goes where the crawl went.
        target = safe_url_string(location)
        if location.startswith(b"//"):
            target = f"{urlparse_cached(request).scheme}://{target.lstrip('/')}"
        self.record.record(
            request.url,
            response.status,
            _header(response, "Content-Type"),
            location=urljoin(request.url, target),
        )
        self._inc("record/redirects")
        return True

    def _response_downloaded(self, response: Response, request: Request) -> None:
        # Only redirects are taken here: this is the raw response, still Content-Encoded,
        # and the bodies of other responses are recorded in process_response once decoded.
        if request.method != "HEAD" and self._record_redirect(request, response):
            self._seen_redirects.add(response)

    def process_response(self, request: Request, response: Response) -> Response:
        if request.method == "HEAD":
            return response
        # A redirect that gets here was not followed (dont_redirect, handle_httpstatus_list...)
        # or was not downloaded (a replayed or cached one), so the signal may not have seen it.
        if response in self._seen_redirects:
            return response
        if not self._record_redirect(request, response):
            self.record.record(
                request.url, response.status, _header(response, "Content-Type"), response.body
            )
            self._inc("record/responses")
            self._inc("record/response_bytes", len(response.body))
        return response

    def _spider_closed(self) -> None:
        self.record.close()


# --- same-site at every hop -------------------------------------------------------------------

#: Request meta flag: this request (an article page or a roll page) must stay on Sina's article
#: hosts through every redirect and meta refresh. Images have their own host list (images.py).
SAME_SITE_META = "same_site"


class HopRefused(IgnoreRequest):
    """A redirect or meta refresh that is not followed: ``reason`` is the failure line's
    reason (``off-site redirect to HOST``, ``redirect loop``). An IgnoreRequest, so Scrapy
    hands it to the request's errback and logs no error of its own."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _SameSiteHops:
    """Checks every hop Scrapy is about to follow, on the request it built for it.

    Overriding ``_redirect`` sees the target exactly as Scrapy computed it (``Location``
    resolved, protocol-relative and fragments handled, the meta refresh's URL read), for 3xx
    answers and meta refreshes alike, before the new request exists for the scheduler: an
    off-site target or a URL already on this chain (A -> B -> A, which the duplicate filter
    would otherwise drop without a word) fails the original request with a reason.
    """

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        if request.meta.get(SAME_SITE_META) or request.meta.get("article_url"):
            stats = getattr(getattr(self, "crawler", None), "stats", None)
            offsite = offsite_host(redirected.url)
            if offsite is not None:
                if stats is not None:
                    stats.inc_value("newsspider/hop/offsite")
                raise HopRefused(f"off-site redirect to {offsite}")
            chain = [*request.meta.get("redirect_urls", []), request.url]
            target = canonicalize_url(redirected.url)
            if any(canonicalize_url(url) == target for url in chain):
                if stats is not None:
                    stats.inc_value("newsspider/hop/loop")
                hops = " -> ".join([*chain, redirected.url][-4:])
                raise HopRefused(f"redirect loop ({hops})")
        return super()._redirect(redirected, request, reason)  # type: ignore[misc]


class SameSiteRedirectMiddleware(_SameSiteHops, RedirectMiddleware):
    """Scrapy's RedirectMiddleware (3xx), with every article hop kept on Sina; and the last
    guard for a request that starts off-site (the spiders refuse those before asking)."""

    def process_request(self, request: Request) -> None:
        if request.meta.get(SAME_SITE_META):
            offsite = offsite_host(request.url)
            if offsite is not None:
                raise HopRefused(f"off-site URL: {offsite} is not a Sina article host")


class SameSiteMetaRefreshMiddleware(_SameSiteHops, MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware, with every article hop kept on Sina."""


# --- recording into a WARC (newsspider/archive/warc.py holds the format) ---------------------

#: Above RedirectMiddleware (600) and HttpCompressionMiddleware (590), below CookiesMiddleware
#: (700): responses are seen as received, redirects before they are followed, bodies before
#: they are decoded; see the docstring of newsspider.archive.warc.
WARC_RECORD_MIDDLEWARE_ORDER = 605


class WarcRecordDownloaderMiddleware:
    """Write every response, with the request that asked for it, into a WARC.

    Enabled by ``NEWSSPIDER_RECORD_WARC``; independent of ``NEWSSPIDER_RECORD_DIR``, so both can
    record one crawl. Pages, roll pages, images, robots.txt, redirects, errors, replayed
    answers: whatever reaches the downloader middlewares as a response is recorded. A download
    that fails without a response (timeout, DNS) leaves nothing to record.
    """

    def __init__(self, warc: WarcFile, stats: StatsCollector | None = None) -> None:
        self.warc = warc
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        path = crawler.settings.get("NEWSSPIDER_RECORD_WARC")
        if not path:
            # off: NEWSSPIDER_RECORD_WARC is not set; no message, or Scrapy logs "Disabled ..."
            raise NotConfigured()
        settings = crawler.settings
        info = {
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": settings.get("USER_AGENT") or "",
            "description": "newsspider crawl"
            + (
                f", replayed from {settings.get('NEWSSPIDER_REPLAY_DIR')}"
                if settings.get("NEWSSPIDER_REPLAY_DIR")
                else ""
            ),
        }
        warc = WarcFile(path, info=info, fsync=settings.getbool("NEWSSPIDER_FSYNC"))
        middleware = cls(warc, crawler.stats)
        crawler.signals.connect(middleware._spider_closed, signals.spider_closed)
        return middleware

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    def process_response(self, request: Request, response: Response) -> Response:
        ip_address = getattr(response, "ip_address", None)
        self.warc.write_exchange(
            request.url,
            method=request.method,
            request_headers=_pairs(request.headers),
            request_body=request.body,
            status=response.status,
            response_headers=_pairs(response.headers),
            body=response.body,
            protocol=getattr(response, "protocol", None),
            ip_address=str(ip_address) if ip_address is not None else None,
        )
        self._inc("warc/responses")
        self._inc("warc/response_bytes", len(response.body))
        return response

    def _spider_closed(self) -> None:
        self.warc.close()


def _pairs(headers: Mapping[bytes, list[bytes]]) -> Iterator[tuple[bytes, bytes]]:
    """Scrapy's headers as (name, value) pairs, one per value, in received order."""
    for name, values in headers.items():
        for value in values:
            yield name, value
