"""Item pipelines, one job each: validate -> images -> archive (FORMAT.md owns the bytes)."""

from __future__ import annotations

import logging
from typing import Self

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.settings import Settings

from newsspider.archive.channels import ChannelError, load_channels
from newsspider.archive.form import Resolved, record_first_write, settings_form
from newsspider.archive.index import STATE_DIR, fs_failure
from newsspider.archive.post import normalize_title
from newsspider.archive.preflight import check_output
from newsspider.archive.runstate import sweep_temp_files
from newsspider.archive.store import Archive, article_key
from newsspider.article import Article
from newsspider.spiders.base import article_failed, article_gone, article_saved
from newsspider.testhooks import crash_point

logger = logging.getLogger(__name__)


#: failures the index could not take when they happened (a full disk), kept here for the next run
UNRECORDED = "unrecorded.jsonl"
#: crawls whose output folder was checked (by whichever pipeline loaded first)
_checked: weakref.WeakSet[Crawler] = weakref.WeakSet()


def preflight(crawler: Crawler) -> None:
    """Refuse an output folder that cannot take the archive, before the engine starts
    (``archive/preflight.py``): the ``newsspider`` commands checked it already, ``scrapy
    crawl`` and Scrapyd get the same one-line refusal here. A crawl (not a ``fetch`` of a few
    URLs) also runs SQLite's ``quick_check`` on the index."""
    if crawler in _checked:
        return
    deep = getattr(getattr(crawler, "spidercls", None), "name", "") != "article"
    check_output(crawler.settings.get("NEWSSPIDER_OUTPUT") or "output", deep=deep)
    _checked.add(crawler)


def stop_crawl(crawler: Crawler, reason: str) -> None:
    """Close the spider with ``reason`` (``disk-full``): every later article would fail the
    same way. Once per crawl; what is in flight ends on its own, what is queued is not sent."""
    if getattr(crawler, "_newsspider_stop", None) or crawler.engine is None:
        return
    crawler._newsspider_stop = reason  # type: ignore[attr-defined]
    from scrapy.utils.defer import deferred_from_coro

    logger.warning("%s: the crawl stops here; the next crawl completes what it listed", reason)
    deferred_from_coro(crawler.engine.close_spider_async(reason=reason))


def _spider_failure(crawler: Crawler, url: str, reason: str) -> None:
    spider: Spider | None = crawler.spider
    record = getattr(spider, "record_failure", None)
    if record is not None:
        record(url, reason)


def form_for_settings(output: str, settings: Settings) -> Resolved:
    """The form this crawl writes ``output`` in: ``NEWSSPIDER_IMAGES``,
    ``NEWSSPIDER_COMPACT_BODY`` and ``NEWSSPIDER_IMAGE_URL_PREFIX`` where set, the folder's
    recorded form elsewhere (``scrapy crawl`` and Scrapyd included)."""
    return settings_form(
        output,
        settings.get("NEWSSPIDER_IMAGES"),
        settings.get("NEWSSPIDER_COMPACT_BODY"),
        settings.get("NEWSSPIDER_IMAGE_URL_PREFIX"),
    )


class ArticlePipeline:
    """Refuses items the archive cannot write, with a reason, before any image is fetched."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        try:
            self.channels = load_channels(crawler.settings.get("NEWSSPIDER_CHANNELS_FILE"))
        except ChannelError as exc:
            raise NotConfigured(str(exc)) from exc

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Article) -> Article:
        adapter = ItemAdapter(item)
        url = adapter.get("url") or "?"
        problem = ""
        if not isinstance(item, Article):
            problem = f"not an Article item ({type(item).__name__})"
        elif not normalize_title(item.title):
            # a headline of only control, format or private-use characters is no headline
            problem = (
                "no headline"
                if not item.title.strip()
                else "no headline (only invisible characters)"
            )
        elif item.channel not in self.channels:
            problem = f"unknown channel {item.channel!r}"
        if problem:
            self.crawler.stats.inc_value("article/dropped")
            _spider_failure(self.crawler, url, problem)
            raise DropItem(f"{url}: {problem}")
        return item


class ArchivePipeline:
    """Writes each article's post atomically and records it in the archive index."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        s = crawler.settings
        # the archive's recorded form, unless an option says otherwise (a contradicting option
        # is refused: archive/form.py); recorded at the first post when there is none yet
        output = s.get("NEWSSPIDER_OUTPUT") or "output"
        resolved = form_for_settings(output, s)
        self.form, self._form_recorded = resolved.form, resolved.recorded
        self.archive = Archive(
            output,
            channels=load_channels(s.get("NEWSSPIDER_CHANNELS_FILE")),
            images=self.form.images,
            image_prefix=self.form.image_prefix,
            compact=self.form.compact,
            fsync=s.getbool("NEWSSPIDER_FSYNC"),
            refresh=s.getbool("NEWSSPIDER_REFRESH"),
            shared_index=True,  # with the spider's lookups and the images pipeline
        )
        # the spider reports a 404 on a re-fetch; marking it goes through this one writer
        crawler.signals.connect(self._article_gone, signal=article_gone)
        crawler.signals.connect(self._article_failed, signal=article_failed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        # ``scrapy crawl sina -a refresh=1`` sets it on the spider rather than in the settings
        if getattr(self.crawler.spider, "refresh", False):
            self.archive.refresh = True

    def close_spider(self) -> None:
        self.archive.close()

    def _article_gone(self, key: str, url: str, reason: str) -> None:
        if self.archive.mark_gone(key, reason):
            self.crawler.stats.inc_value("archive/gone")
            logger.info("gone %s (%s): post kept, index marks it gone", url, reason)

    def _article_failed(self, key: str, url: str, channel: str, reason: str,
                        doc_id: str = "") -> None:  # fmt: skip
        """Still failing after the retries: the index keeps it (``failed``, reason, attempts)
        so ``index failed`` lists it and a later crawl retries it."""
        rec = self.archive.mark_failed(key, url, channel, reason, doc_id=doc_id)
        if rec is not None:
            self.crawler.stats.inc_value("archive/failed_recorded")

    def process_item(self, item: Article) -> Article:
        try:
            if not self._form_recorded:  # the folder's first post fixes its form
                record_first_write(self.archive.root, self.form)
                self._form_recorded = True
            saved = self.archive.save(item)
        except (OSError, sqlite3.Error) as exc:
            # one line per article (the spider's ``failed`` line), never a traceback or a dump
            # of the item; a full disk stops the crawl: every later article would fail too
            reason, stop = fs_failure(exc)
            if reason != "disk-full":
                reason = f"cannot write post: {reason}"
            self.crawler.stats.inc_value("archive/write_error")
            self.crawler.stats.inc_value(f"archive/write_error/{fs_failure(exc)[0][:40]}")
            _spider_failure(self.crawler, item.url, reason)
            self._note_failed(article_key(item), item.url, item.channel, reason, item.doc_id)
            if stop:
                stop_crawl(self.crawler, "disk-full" if reason == "disk-full" else "read-only")
            raise DropItem(f"{item.url}: {reason}", log_level="DEBUG") from None
        self.crawler.stats.inc_value(f"archive/{saved.status}")
        # the article's end in the spider's ledger (spiders/base.py ArticleLedger)
        self.crawler.signals.send_catch_log(article_saved, item=item, status=saved.status)
        crash_point("post")  # test-only: a kill right after a post and its row are written
        logger.info("%s %s -> %s", saved.status, item.url, saved.path)
        return item
