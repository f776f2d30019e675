"""The images pipeline: download every image a post shows, keep the bytes exact, record where.

Built on Scrapy's :class:`~scrapy.pipelines.files.FilesPipeline`, not its ``ImagesPipeline``,
which re-encodes everything to JPEG (flattening animated GIFs and losing PNG transparency):
FORMAT.md wants the original bytes. Pillow only *inspects* them (:func:`inspect_image`).

The files go through Scrapy's storage seam: ``self.store`` is an
:class:`~newsspider.archive.images.ImageStore` (``STORE_SCHEMES``), whose ``stat_file`` answers
from the archive index whether an image is already on disk (Scrapy's own ``media_to_download``
then skips the network), and whose ``persist_file`` writes it (contained, atomically) and marks
it downloaded. The stored path depends on the format Pillow detects, so it is known only after
the download; the store claims it in the index's ``images`` table, which also bounds the retries
of an image that failed. Everything decided without Scrapy lives in
:mod:`newsspider.archive.images`.

What this class overrides, and why (Scrapy's ``MediaPipeline``/``FilesPipeline`` name these
their overridable interface): ``get_media_requests`` (which images to request at all),
``file_path`` (the path is the index's, not a hash of the URL), ``file_downloaded`` (the checks
on the bytes before the store keeps them, as Scrapy's own ``ImagesPipeline`` does there),
``media_downloaded`` and ``media_failed`` (redirects checked hop by hop, a reason per failure,
one log line without a traceback), ``item_completed`` (the article's two image maps).
``media_to_download`` is Scrapy's.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from io import BytesIO
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urljoin

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FilesPipeline, FilesStoreProtocol
from scrapy.pipelines.media import FileException, FileInfo, FileInfoOrError, MediaPipeline
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure
from w3lib.url import safe_url_string

from newsspider.archive.images import (
    DEFAULT_IMAGE_HOSTS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    ImageRejected,
    ImageStore,
    ImageTable,
    decode_image,
    host_allowed,
    inspect_image,
    sniff_image,
)
from newsspider.archive.index import Index, fs_failure
from newsspider.article import Article
from newsspider.crawl.context import ArchiveContext
from newsspider.testhooks import thread_jitter

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: NEWSSPIDER_IMAGE_MAX_PER_ARTICLE's default: Sina's longest photo stories show about 100
DEFAULT_MAX_PER_ARTICLE = 300
#: NEWSSPIDER_IMAGE_THREAD_BYTES's default: images at least this big are decoded on a worker
#: thread (measured: below it, the thread's hand-over and GIL switches cost more than the
#: decode the engine's thread is spared)
DEFAULT_THREAD_BYTES = 64 * 1024
#: request.meta flag on every image request (for middlewares and tests that want to tell)
IMAGE_META = "newsspider_image"


try:  # the exception MediaPipeline treats as expected: no ERROR line with a traceback
    from scrapy.pipelines.media import _MediaRequestFiltered as _ExpectedFailure
except ImportError:  # pragma: no cover - a Scrapy without it logs each failure twice
    _ExpectedFailure = FileException  # type: ignore[misc,assignment]


class ImageFailed(_ExpectedFailure):
    """An image that was not kept; its post keeps the remote URL. Already logged (one WARNING
    line naming the URL and the reason) and counted, so MediaPipeline must not log it again."""

    def __init__(self, url: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{url}: {reason}" + (f" ({detail})" if detail else ""))
        self.url = url
        self.reason = reason
        self.detail = detail


def _download_failure_reason(exc: BaseException) -> tuple[str, str]:
    """A slug and a detail for a download that produced no response."""
    name = type(exc).__name__
    message = str(exc)
    if "max size" in message:
        return "too-large", message
    if isinstance(exc, IgnoreRequest):
        return "refused", message or name  # robots.txt, an offsite filter...
    if "Timeout" in name or "TimedOut" in name:
        return "timeout", message or name
    return "download-error", f"{name}: {message}" if message else name


class ImagesPipeline(FilesPipeline):
    """Downloads ``Article.body_images`` into ``<NEWSSPIDER_OUTPUT>/images/`` and fills
    ``local_images`` (URL -> ``images/...``) and ``failed_images`` (URL -> reason).

    Disabled when ``NEWSSPIDER_IMAGES`` is ``off``; ``local`` and ``remote`` both download (the
    archive pipeline decides how posts link them). A failed image never drops the article.
    """

    MEDIA_NAME = "image"
    #: the output folder is a local path: every scheme FilesPipeline would map to its
    #: FSFilesStore gets the archive's store instead
    STORE_SCHEMES: ClassVar[dict[str, type[FilesStoreProtocol]]] = {
        "": ImageStore,  # type: ignore[dict-item]
        "file": ImageStore,  # type: ignore[dict-item]
    }
    #: days until Scrapy re-downloads a stored file: an archived image keeps its bytes and path
    #: for good (FORMAT.md), so never in practice (``IMAGESPIPELINE_FILES_EXPIRES`` still wins)
    EXPIRES = 100 * 365

    def __init__(self, store_uri: str | PathLike[str], *, crawler: Crawler) -> None:
        super().__init__(store_uri, crawler=crawler)
        #: the store FilesPipeline built from STORE_SCHEMES (typed as the archive's)
        self.image_store: ImageStore = self.store  # type: ignore[assignment]
        s = crawler.settings
        self.root = Path(store_uri)
        self.hosts: list[str] = s.getlist("NEWSSPIDER_IMAGE_HOSTS") or list(DEFAULT_IMAGE_HOSTS)
        self.max_bytes = s.getint("NEWSSPIDER_IMAGE_MAX_BYTES", DEFAULT_MAX_BYTES)
        self.max_pixels = s.getint("NEWSSPIDER_IMAGE_MAX_PIXELS", DEFAULT_MAX_PIXELS)
        self.max_attempts = s.getint("NEWSSPIDER_IMAGE_MAX_ATTEMPTS", 3)
        self.max_redirects = s.getint("REDIRECT_MAX_TIMES", 20)
        self.max_per_article = s.getint("NEWSSPIDER_IMAGE_MAX_PER_ARTICLE", DEFAULT_MAX_PER_ARTICLE)
        self.fsync = s.getbool("NEWSSPIDER_FSYNC")
        self.thread_bytes = s.getint("NEWSSPIDER_IMAGE_THREAD_BYTES", DEFAULT_THREAD_BYTES)
        self.context = ArchiveContext.from_crawler(crawler)
        self.index: Index | None = None
        self.table: ImageTable | None = None
        #: id(item) -> the URLs requested for it, in order (results come back in that order)
        self._requested: dict[int, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        context = ArchiveContext.from_crawler(crawler)
        # an unusable output folder is refused (by the form's check) before FilesPipeline
        # makes one
        if context.form.form.images == "off":
            # no image is downloaded; no message, or Scrapy logs "Disabled ..."
            raise NotConfigured()
        return cls(context.output, crawler=crawler)

    def open_spider(self) -> None:  # type: ignore[override]  # Scrapy 2.13+: no spider argument
        super().open_spider()
        self.index = self.context.index  # the crawl's one connection (the context closes it)
        self.table = ImageTable(self.index)
        self.image_store.open(self.table, fsync=self.fsync)

    def close_spider(self) -> None:
        self.image_store.close()
        self.index = self.table = None

    def _table(self) -> ImageTable:
        if self.table is None:
            raise RuntimeError("ImagesPipeline used before open_spider")
        return self.table

    def _inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, count)

    def _record_failure(self, url: str, reason: str, detail: str, *, attempt: bool) -> None:
        """Log (image URL and reason), count (``images/failed/<reason>``) and, for a real
        attempt, remember it in the index so later runs retry a bounded number of times (when
        the index can take it: on a full disk the image is simply tried again next run)."""
        attempts = 0
        if attempt:
            try:
                attempts = self._table().mark_failed(url, reason)
            except (OSError, sqlite3.Error) as exc:
                logger.debug("image failure not recorded: %s: %s", url, exc)
                attempt = False
        suffix = f" (attempt {attempts} of {self.max_attempts})" if attempt else ""
        logger.warning("image not kept: %s: %s%s%s", url, reason, f": {detail}" if detail else "",
                       suffix)  # fmt: skip
        self._inc(f"images/failed/{reason}")

    def _fail(self, url: str, reason: str, detail: str = "") -> ImageFailed:
        self._record_failure(url, reason, detail, attempt=True)
        return ImageFailed(url, reason, detail)

    # --- MediaPipeline hooks -------------------------------------------------------------------

    def get_media_requests(self, item: Any, info: MediaPipeline.SpiderInfo) -> list[Request]:
        """One request per image worth asking for; what needs none is settled here.

        Refused hosts, images over the per-article cap and images that failed
        ``NEWSSPIDER_IMAGE_MAX_ATTEMPTS`` times already go straight to ``failed_images``. An image
        already on disk is requested too: Scrapy's ``media_to_download`` asks the store
        (``stat_file``) and answers ``uptodate`` without touching the network.
        """
        if not isinstance(item, Article):
            return []
        table = self._table()
        item.local_images = {}
        item.failed_images = {}
        requests: list[Request] = []
        urls = list(dict.fromkeys(item.body_images))
        if self.max_per_article > 0 and len(urls) > self.max_per_article:
            # a page with thousands of pictures is a broken or hostile page, not an article:
            # the first ones are fetched, the rest keep their remote URLs (one line, one stat)
            over = urls[self.max_per_article :]
            urls = urls[: self.max_per_article]
            for url in over:
                item.failed_images[url] = "over-cap"
            self._inc("images/over_cap", len(over))
            logger.warning(
                "images over the cap: %s shows %d images; the first %d are downloaded, %d keep "
                "their remote URLs (NEWSSPIDER_IMAGE_MAX_PER_ARTICLE)",
                item.url, len(urls) + len(over), len(urls), len(over),
            )  # fmt: skip
        for url in urls:
            if not host_allowed(url, self.hosts):
                self._record_failure(url, "disallowed-host", "not in NEWSSPIDER_IMAGE_HOSTS",
                                     attempt=False)  # fmt: skip
                item.failed_images[url] = "disallowed-host"
                continue
            row = table.get(url)
            if row is not None and row.status == "failed" and row.attempts >= self.max_attempts:
                item.failed_images[url] = row.reason or "failed"
                self._inc("images/given_up")
                logger.debug("image given up after %d attempts: %s: %s", row.attempts, url,
                             row.reason)  # fmt: skip
                continue
            requests.append(self._request(url, referer=item.url))
        self._requested[id(item)] = [r.url for r in requests]
        return requests

    def _request(self, url: str, *, referer: str) -> Request:
        """The article page as Referer (what a browser showing the page would send); redirects
        are followed here, not by RedirectMiddleware, so each hop is checked before it is sent."""
        return Request(
            url,
            headers={"Referer": referer} if referer else None,
            callback=NO_CALLBACK,
            dont_filter=True,
            meta={IMAGE_META: True, "dont_redirect": True, "download_maxsize": self.max_bytes},
        )

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: MediaPipeline.SpiderInfo | None = None,
        *,
        item: Any = None,
    ) -> str:
        """The path the index holds for the image (FilesPipeline's default, a hash of the URL,
        is not the archive's layout); ``""`` before its first good download, since the path
        depends on the format of the bytes (the store then stats it as absent, and
        :meth:`file_downloaded` claims one)."""
        return self.image_store.path_of(request.url)

    def media_failed(
        self, failure: Failure, request: Request, info: MediaPipeline.SpiderInfo
    ) -> Any:
        """No response at all (timeout, reset, robots.txt, size cap): one failed attempt.

        FilesPipeline's logs a generic line and raises a bare exception, losing the reason
        that ``failed_images``, the stats and the bounded retries are kept by."""
        if isinstance(failure.value, ImageFailed):
            raise failure.value  # from media_downloaded: already recorded
        reason, detail = _download_failure_reason(failure.value)
        raise self._fail(request.url, reason, detail) from failure.value

    async def _follow_redirects(self, response: Response, request: Request) -> Response:
        """Follow 3xx answers while every target is http(s) on an allowed host."""
        hops = 0
        while response.status in REDIRECT_STATUSES:
            location = response.headers.get("Location")
            if not location:
                break
            if hops >= self.max_redirects:
                raise ImageRejected("too-many-redirects", f"more than {self.max_redirects}")
            target = urljoin(response.url, safe_url_string(location.decode("latin-1")))
            if not host_allowed(target, self.hosts):
                raise ImageRejected("disallowed-redirect", f"redirected to {target}")
            hops += 1
            try:
                response = await self.crawler.engine.download_async(
                    request.replace(url=target, method="GET", body=b"")
                )
            except Exception as exc:
                raise ImageRejected(*_download_failure_reason(exc)) from exc
        return response

    async def media_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> FileInfo:
        """Follow the image's redirects, then hand the final answer to :meth:`file_downloaded`;
        any refusal is an :class:`ImageFailed`.

        Overridden because FilesPipeline's refuses every status but 200 (redirects are followed
        here, each hop checked before it is sent: ``dont_redirect``), and logs a refusal with a
        traceback where this archive promises one line with the reason."""
        url = request.url
        try:
            response = await self._follow_redirects(response, request)
            if response.status != 200:
                raise ImageRejected(
                    f"http-{response.status}", "" if response.url == url else response.url
                )
            path, checksum = await self._keep(response, request)
        except ImageRejected as exc:
            raise self._fail(url, exc.reason, exc.detail) from exc
        except (OSError, sqlite3.Error) as exc:
            # one line, no traceback; a full disk also stops the crawl (every later image and
            # post would fail the same way); the post keeps the remote URL, no temp file stays,
            # and the path stays claimed: the next run stores the image there
            reason, stop = fs_failure(exc)
            if stop:
                self.context.stop("disk-full" if reason == "disk-full" else "read-only")
            slug = "disk-full" if reason == "disk-full" else "cannot-store"
            raise self._fail(url, slug, "" if slug == reason else reason) from None
        self._inc("images/downloaded")
        self._inc("images/bytes", len(response.body))
        return {"url": url, "path": path, "checksum": checksum, "status": "downloaded"}

    async def _keep(self, response: Response, request: Request) -> tuple[str, str]:
        """Check the bytes, claim the image's path, store them unchanged; ``(path, SHA-1)``.

        The header checks and the claim run here, on the engine's thread, in the order the
        images come (so names never depend on thread timing); Pillow's full decode, the hash
        and the temp file run on a worker thread (Pillow, hashlib and the write let go of the
        GIL: the engine goes on meanwhile); the file takes its name once the claim is
        committed (the index's batch), as the crash rule wants."""
        body = response.body
        url = request.url
        ctype = (response.headers.get("Content-Type") or b"").decode("latin-1")
        store = self.image_store
        if len(body) < self.thread_bytes:
            # a small image: handing it to a thread costs more than its decode; one pass of
            # Pillow over it, then the claim
            found = inspect_image(body, max_bytes=self.max_bytes, max_pixels=self.max_pixels,
                                  content_type=ctype)  # fmt: skip
            path = store.claim(url, found.format)
            tmp = store.stage(path, body)
            checksum = hashlib.sha1(body).hexdigest()
        else:
            found = sniff_image(body, max_bytes=self.max_bytes, max_pixels=self.max_pixels,
                                content_type=ctype)  # fmt: skip
            had_path = bool(store.path_of(url))
            path = store.claim(url, found.format)  # before the thread: in the images' order
            try:
                tmp, checksum = await maybe_deferred_to_future(
                    deferToThread(self._decode_and_stage, body, path)
                )
            except BaseException:
                if not had_path:
                    store.table.release(url, path)
                raise
        try:
            await maybe_deferred_to_future(self._committed())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        store.finish(url, path, tmp, nbytes=len(body), fmt=found.format)
        logger.debug("image stored: %s -> %s (%s, %d frames)", url, path, found.format,
                     found.frames)  # fmt: skip
        return path, checksum

    def _decode_and_stage(self, body: bytes, path: str) -> tuple[Path, str]:
        """On a worker thread: every frame decoded, the bytes under a temp name, their SHA-1."""
        thread_jitter()  # test-only: threads finishing in another order every run
        decode_image(body)
        checksum = hashlib.sha1(body).hexdigest()
        return self.image_store.stage(path, body), checksum

    def _committed(self) -> Deferred[None]:
        """Fires once everything the index holds so far is committed (the claim of an image
        staged before it)."""
        done: Deferred[None] = Deferred()

        def fire(error: BaseException | None) -> None:
            if error is None:
                done.callback(None)
            else:
                done.errback(Failure(error))

        self._table().index.after_commit(fire)
        return done

    def file_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> str:
        """Check the bytes (size cap, SVG, Pillow's full decode, pixel cap, bombs), have the
        store claim the image's path and persist the bytes unchanged; the SHA-1 of the bytes.

        Where Scrapy's own ImagesPipeline checks and converts an image before its store keeps
        it; nothing is converted here (FORMAT.md wants the original bytes)."""
        body = response.body
        found = inspect_image(
            body, max_bytes=self.max_bytes, max_pixels=self.max_pixels,
            content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"),
        )  # fmt: skip
        path = self.image_store.claim(request.url, found.format)
        self.image_store.persist_file(path, BytesIO(body), info, meta={"format": found.format})
        logger.debug("image stored: %s -> %s (%s, %d frames)", request.url, path, found.format,
                     found.frames)  # fmt: skip
        return hashlib.sha1(body).hexdigest()

    def item_completed(
        self, results: list[FileInfoOrError], item: Any, info: MediaPipeline.SpiderInfo
    ) -> Any:
        """Fill ``local_images``/``failed_images`` from this item's downloads (FilesPipeline's
        puts the results in an item field this Article does not have). Failures were logged
        where they happened; the item always goes on to the archive."""
        urls = self._requested.pop(id(item), [])
        if not isinstance(item, Article):
            return item
        for n, (ok, value) in enumerate(results):
            url = urls[n] if n < len(urls) else ""
            if ok and value and not isinstance(value, Failure):
                item.local_images[value["url"]] = value["path"]
                if value["status"] == "uptodate":  # on disk already (the store's stat_file)
                    self._inc("images/uptodate")
            elif not ok:
                exc = value.value if isinstance(value, Failure) else value
                if isinstance(exc, ImageFailed):
                    item.failed_images[exc.url] = exc.reason
                elif url:
                    item.failed_images[url] = "download-error"
        return item
