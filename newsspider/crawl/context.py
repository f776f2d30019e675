"""One archive context per crawler: what the spider, the pipelines and the extensions share.

A crawl writes one output folder through one index connection, in one form (images, prefix,
compact body), and ends with one report. Each of those is decided here, once, when a
component first asks (:meth:`ArchiveContext.from_crawler` caches the context on the crawler),
instead of by each component from the settings with its own default: the spider's lookups and
the pipelines' writes see the same rows through the same connection, and whoever started the
crawl reads the report from the crawler afterwards (:func:`report_of`).

Opening the archive (:meth:`ArchiveContext.open`) is the crawl's preflight: a folder that
cannot take the archive, a damaged index or a form the options contradict is refused with one
line (:class:`~newsspider.errors.UsageError`) before the engine starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

from newsspider import cluster
from newsspider.archive import DEFAULT_OUTPUT
from newsspider.archive.channels import Channel, ChannelError, load_channels
from newsspider.archive.form import Resolved, settings_form
from newsspider.archive.index import Index
from newsspider.archive.preflight import check_output
from newsspider.archive.store import Archive
from newsspider.crawl.report import RunReport
from newsspider.errors import UsageError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: a spider's ``archive_role``: what its run is to the output folder
FETCH = "fetch"  # a few URLs beside anything else: no lock, a quick index check
CRAWL = "crawl"  # the folder's one crawl: locked, deep-checked, killed writers' temp files swept
WORKER = "worker"  # one of a cluster's workers: deep-checked and swept, the cluster coordinates

_ATTRIBUTE = "_newsspider_context"


class ArchiveContext:
    """The output folder, its index, its form and the run's report, for one crawler."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.settings = settings
        #: NEWSSPIDER_OUTPUT, read once
        self.output = Path(settings.get("NEWSSPIDER_OUTPUT") or DEFAULT_OUTPUT)
        self.role: str = (
            WORKER  # a cluster's worker (the sina spider fed from Redis): not the folder's crawl
            if cluster.role(settings) == cluster.WORKER
            else getattr(crawler.spidercls, "archive_role", WORKER)
        )
        #: rewrite imported posts too (NEWSSPIDER_REFRESH, or the spider's ``refresh``)
        self.refresh = settings.getbool("NEWSSPIDER_REFRESH")
        self.report = RunReport(lambda: getattr(crawler, "_stats", None))
        #: why the crawl is being stopped early (``disk-full``), once
        self.stopping = ""
        self._index: Index | None = None
        self._archive: Archive | None = None
        self._form: Resolved | None = None
        self._channels: dict[str, Channel] | None = None
        self._checked = False
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveContext:
        """The crawler's context, made on first use."""
        context: ArchiveContext | None = crawler.__dict__.get(_ATTRIBUTE)
        if context is None:
            context = cls(crawler)
            setattr(crawler, _ATTRIBUTE, context)
        return context

    # --- decided once ---
    @property
    def channels(self) -> dict[str, Channel]:
        """The channel table: the shipped one plus NEWSSPIDER_CHANNELS_FILE."""
        if self._channels is None:
            try:
                self._channels = load_channels(self.settings.get("NEWSSPIDER_CHANNELS_FILE"))
            except ChannelError as exc:
                raise UsageError(str(exc)) from None
        return self._channels

    @property
    def form(self) -> Resolved:
        """The form this crawl writes in: NEWSSPIDER_IMAGES, NEWSSPIDER_COMPACT_BODY and
        NEWSSPIDER_IMAGE_URL_PREFIX where set, the folder's recorded form elsewhere (a
        contradicting setting is refused: ``archive/form.py``)."""
        if self._form is None:
            self.check()
            s = self.settings
            self._form = settings_form(
                self.output,
                s.get("NEWSSPIDER_IMAGES"),
                s.get("NEWSSPIDER_COMPACT_BODY"),
                s.get("NEWSSPIDER_IMAGE_URL_PREFIX"),
            )
        return self._form

    @property
    def index(self) -> Index:
        """The crawl's one index connection, opened on first use, closed when the crawl
        closes (after the pipelines)."""
        if self._index is None:
            self.check()
            self._index = Index(self.output)
            # one transaction per engine tick (or per NEWSSPIDER_INDEX_BATCH_SECONDS) for every
            # writer of the crawl (Index.batch)
            delay = self.settings.getfloat("NEWSSPIDER_INDEX_BATCH_SECONDS", 0.0)
            self._index.batch(lambda fn: _later(delay, fn))
        return self._index

    @property
    def archive(self) -> Archive:
        """The crawl's one writer of posts (a cluster's worker writes through the cluster's
        file-name claims: cluster/archive.py), on the crawl's index connection."""
        if self._archive is None:
            form = self.form.form
            self._archive = cluster.open_archive(
                self.settings,
                self.output,
                channels=self.channels,
                images=form.images,
                image_prefix=form.image_prefix,
                compact=form.compact,
                fsync=self.settings.getbool("NEWSSPIDER_FSYNC"),
                refresh=self.refresh,  # the spider's ``-a refresh=1`` too
                index=self.index,  # the crawl's one connection: the spider's lookups see ours
            )
        return self._archive

    def check(self) -> None:
        """Refuse an output folder that cannot take the archive, once per crawl
        (``archive/preflight.py``); a crawl (not a ``fetch`` of a few URLs) also has SQLite
        check the index."""
        if not self._checked:
            check_output(self.output, deep=self.role != FETCH)
            self._checked = True

    def open(self) -> None:
        """Everything a crawl's start can refuse, in one place: the folder, the index, the
        channel table and the form. Raises :class:`UsageError` with one line."""
        self.check()
        _ = self.channels, self.form

    # --- the end ---
    def stop(self, reason: str) -> None:
        """Close the spider with ``reason`` (``disk-full``): every later article would fail the
        same way. Once per crawl; what is in flight ends on its own, what is queued is not
        sent."""
        engine = getattr(self.crawler, "_engine", None)
        if self.stopping or engine is None:
            return
        self.stopping = reason
        from scrapy.utils.defer import deferred_from_coro

        logger.warning("%s: the crawl stops here; the next crawl completes what it listed", reason)
        deferred_from_coro(engine.close_spider_async(reason=reason))

    def _spider_closed(self, spider: Any, reason: str) -> None:
        # after the spider's own close (its handler was connected first) and the pipelines'
        # a cluster's feeder sends its article requests to Redis, not to the network
        self.report.close(reason, sends_articles=cluster.role(self.settings) != cluster.FEEDER)
        summary = self.settings.get("NEWSSPIDER_SUMMARY_JSON")
        try:
            if summary:
                try:
                    self.report.write(summary)
                except OSError as exc:
                    logger.error("summary file %s not written: %s", summary, exc)
        finally:
            self.close()

    def close(self) -> None:
        if self._index is not None:
            index, self._index = self._index, None
            index.close()


def _later(delay: float, fn: Callable[[], None]) -> object:
    """Call ``fn`` once the reactor has run what is ready now (the engine's next tick), or
    ``delay`` seconds from now."""
    from twisted.internet import reactor

    # Twisted's interface stub lists callLater without ``self``, so mypy reads ``0`` as its
    # callable
    return reactor.callLater(delay, fn)  # type: ignore[attr-defined,arg-type,unused-ignore]


def report_of(crawler: Crawler) -> RunReport:
    """The report of a crawl (whoever started it reads it from the crawler afterwards)."""
    return ArchiveContext.from_crawler(crawler).report
