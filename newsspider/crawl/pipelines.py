"""Item pipelines, one job each: validate -> images -> archive (FORMAT.md owns the bytes)."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Self

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from newsspider.archive.form import record_first_write
from newsspider.archive.index import STATE_DIR, free_reserve, fs_failure, make_reserve
from newsspider.archive.post import normalize_title
from newsspider.archive.runstate import sweep_temp_files
from newsspider.archive.store import Saved, Staged, article_key
from newsspider.article import Article
from newsspider.crawl.context import FETCH, ArchiveContext
from newsspider.crawl.signals import article_failed, article_gone

logger = logging.getLogger(__name__)


#: failures the index could not take when they happened (a full disk), kept here for the next run
UNRECORDED = "unrecorded.jsonl"


class ArticlePipeline:
    """Refuses items the archive cannot write, with a reason, before any image is fetched."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.context = ArchiveContext.from_crawler(crawler)
        self.context.check()
        self.channels = self.context.channels

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
            self.context.report.fail(url, problem)
            raise DropItem(f"{url}: {problem}")
        try:
            # the post's file name, claimed here, in the order the spider gives the articles:
            # the images after this run on worker threads and finish in any order, and the
            # name must not depend on that (two articles with one title)
            self.context.archive.claim(item)
        except (OSError, sqlite3.Error, ValueError) as exc:
            # the archive pipeline meets the same trouble and reports it for this article
            logger.debug("post name of %s not claimed yet: %s", url, exc)
        return item


class ArchivePipeline:
    """Writes each article's post atomically and records it in the archive index."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.context = context = ArchiveContext.from_crawler(crawler)
        # the archive's recorded form, unless an option says otherwise (a contradicting option
        # is refused: archive/form.py); recorded at the first post when there is none yet
        resolved = context.form
        self.form, self._form_recorded = resolved.form, resolved.recorded
        #: url -> the failure the index could not take (a full disk); recorded at the close if
        #: it can be by then, else by the next run (``.newsspider/unrecorded.jsonl``)
        self.unrecorded: dict[str, dict[str, str]] = {}
        self.archive = context.archive
        # the spider reports a 404 on a re-fetch; marking it goes through this one writer
        crawler.signals.connect(self._article_gone, signal=article_gone)
        crawler.signals.connect(self._article_failed, signal=article_failed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        self._record_earlier_failures()
        if self.context.role != FETCH:
            # room to record the failures a full disk would cause (given back at the close)
            make_reserve(self.archive.index.state)
            # a crawl's start: temp files of writers that were killed (a fetch still running
            # beside it keeps its own: the pid in the name says it is alive)
            removed = sweep_temp_files(self.archive.root)
            if removed:
                self.crawler.stats.set_value("archive/temp_removed", len(removed))
                logger.info("removed %d temp file(s) killed writers left", len(removed))

    def close_spider(self) -> None:
        try:
            self._keep_unrecorded()
        finally:
            self.archive.close()

    @property
    def _unrecorded_path(self) -> Path:
        return self.archive.root / STATE_DIR / UNRECORDED

    def _record_earlier_failures(self) -> None:
        """Failures an earlier run could not record in the index (its disk was full): now."""
        path = self._unrecorded_path
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            return
        done = 0
        for raw in lines:
            try:
                e = json.loads(raw.decode("utf-8"))
                self.archive.mark_failed(e["key"], e["url"], e["channel"], e["reason"],
                                         doc_id=e.get("doc_id", ""))  # fmt: skip
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by the full disk that made it
            except (OSError, sqlite3.Error):
                return  # still no room: the file stays for the run after
            done += 1
        path.unlink(missing_ok=True)
        if done:
            self.crawler.stats.set_value("archive/unrecorded_recorded", done)
            logger.info("recorded %d failure(s) an earlier run could not record", done)

    def _note_failed(self, key: str, url: str, channel: str, reason: str, doc_id: str) -> None:
        """Record a failed article in the index (``index failed``, retried next run); when the
        index cannot take it (a full disk) keep it for the close, or the next run."""
        entry = {"key": key, "url": url, "channel": channel, "reason": reason, "doc_id": doc_id}

        def unrecorded(exc: BaseException) -> None:
            self.unrecorded[url] = entry
            self.crawler.stats.set_value("archive/unrecorded", len(self.unrecorded))
            logger.debug("failure of %s not recorded yet: %s", url, exc)

        try:
            rec = self.archive.mark_failed(key, url, channel, reason, doc_id=doc_id)
        except (OSError, sqlite3.Error) as exc:
            unrecorded(exc)
            return
        if rec is not None:
            self.crawler.stats.inc_value("archive/failed_recorded")

            def committed(error: BaseException | None) -> None:
                if error is not None:  # the batch that held the row could not be committed
                    self.crawler.stats.inc_value("archive/failed_recorded", -1)
                    unrecorded(error)

            self.archive.index.after_commit(committed)

    def _keep_unrecorded(self) -> None:
        """At the close: record what could not be recorded; what still cannot is appended to
        ``.newsspider/unrecorded.jsonl`` for the next run (and is in this run's summary)."""
        if not self.unrecorded:
            return
        # the space kept for this moment: the rows, their journal lines, the run file
        free_reserve(self.archive.index.state)
        left = list(self.unrecorded.values())
        db = self.archive.index.db
        try:
            if self.archive.index.batching:
                self.archive.index.commit()  # the batch first: one transaction of our own
            db.execute("BEGIN IMMEDIATE")  # one transaction: the fewest pages written
            for entry in left:
                self.archive.mark_failed(entry["key"], entry["url"], entry["channel"],
                                         entry["reason"], doc_id=entry["doc_id"])  # fmt: skip
            db.execute("COMMIT")
            left = []
        except (OSError, sqlite3.Error) as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            logger.debug("failures still not recorded: %s", exc)
        recorded = len(self.unrecorded) - len(left)
        self.crawler.stats.set_value("archive/unrecorded", len(left))
        if recorded:
            self.crawler.stats.inc_value("archive/failed_recorded", recorded)
            logger.info("recorded %d failure(s) the full disk had refused", recorded)
        if not left:
            return
        data = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in left).encode("utf-8")
        path = self._unrecorded_path
        existed = path.exists()
        try:
            with open(path, "ab") as fh:
                fh.write(data)
        except OSError:
            if not existed:
                path.unlink(missing_ok=True)
            logger.warning("%d failure(s) could not be recorded (disk full); the next crawl "
                           "lists those articles again", len(left))  # fmt: skip
            return
        logger.warning("%d failure(s) could not be recorded in the index (disk full); the next "
                       "run records them", len(left))  # fmt: skip

    def _after_commit(self, staged: Staged) -> Deferred[Saved]:
        """Fires with the post finished (:meth:`Archive.finish`) once its claim is committed."""
        done: Deferred[Saved] = Deferred()

        def finish(error: BaseException | None) -> None:
            if error is not None:
                self.archive.discard(staged)
                done.errback(Failure(error))
                return
            try:
                saved = self.archive.finish(staged)
            except (OSError, sqlite3.Error) as exc:
                done.errback(Failure(exc))
                return
            done.callback(saved)

        self.archive.index.after_commit(finish)
        return done

    def _article_gone(self, key: str, url: str, reason: str) -> None:
        try:
            if self.archive.mark_gone(key, reason):
                self.crawler.stats.inc_value("archive/gone")
                logger.info("gone %s (%s): post kept, index marks it gone", url, reason)
        except (OSError, sqlite3.Error) as exc:
            # the post stays either way; the next re-fetch that gets a 404 marks it
            logger.warning("gone %s: not recorded (%s)", url, fs_failure(exc)[0])

    def _article_failed(self, key: str, url: str, channel: str, reason: str,
                        doc_id: str = "") -> None:  # fmt: skip
        """Still failing after the retries: the index keeps it (``failed``, reason, attempts)
        so ``index failed`` lists it and a later crawl retries it."""
        self._note_failed(key, url, channel, reason, doc_id)

    async def process_item(self, item: Article) -> Article:
        try:
            if not self._form_recorded:  # the folder's first post fixes its form
                record_first_write(self.archive.root, self.form)
                self._form_recorded = True
            staged = self.archive.stage(item)
            if isinstance(staged, Staged):
                # the bytes wait under a temp name until the batch that holds the path's claim
                # is committed (at the engine's next tick, with the other articles' rows)
                saved = await maybe_deferred_to_future(self._after_commit(staged))
            else:
                saved = staged
        except (OSError, sqlite3.Error) as exc:
            # one line per article (the spider's ``failed`` line), never a traceback or a dump
            # of the item; a full disk stops the crawl: every later article would fail too
            reason, stop = fs_failure(exc)
            if reason != "disk-full":
                reason = f"cannot write post: {reason}"
            self.crawler.stats.inc_value("archive/write_error")
            self.crawler.stats.inc_value(f"archive/write_error/{fs_failure(exc)[0][:40]}")
            self.context.report.fail(item.url, reason)
            self._note_failed(article_key(item), item.url, item.channel, reason, item.doc_id)
            if stop:
                self.context.stop("disk-full" if reason == "disk-full" else "read-only")
            raise DropItem(f"{item.url}: {reason}", log_level="DEBUG") from None
        self.crawler.stats.inc_value(f"archive/{saved.status}")
        self.context.report.saved(item.url, saved.status)  # the article's end
        logger.info("%s %s -> %s", saved.status, item.url, saved.path)
        return item
