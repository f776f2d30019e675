"""The crawl's start and end as the output folder sees them: checked, then locked, then freed.

An extension because Scrapy builds extensions after the add-ons settled the settings and before
the engine, its pipelines or its middlewares exist: whatever is refused here is refused before
anything is written or requested, for ``newsspider crawl``, ``scrapy crawl`` and Scrapyd alike.
A refusal is a :class:`~newsspider.errors.UsageError` with one line (exit 2 for ``newsspider``;
for ``scrapy crawl`` one log line, :class:`~newsspider.crawl.addon.OneLineStartErrors`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self

from scrapy import signals
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import load_object

from newsspider.archive.lock import OutputLock
from newsspider.crawl.context import CRAWL, ArchiveContext

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


def writes_archive(settings: BaseSettings) -> bool:
    """Does this crawl write posts (an archive pipeline is enabled)? ``newsspider extract``
    disables the pipelines and needs no output folder at all."""
    from newsspider.crawl.pipelines import ArchivePipeline

    for path in build_component_list(settings.getwithbase("ITEM_PIPELINES")):
        cls = load_object(path) if isinstance(path, str) else path
        if isinstance(cls, type) and issubclass(cls, ArchivePipeline):
            return True
    return False


class CrawlGuard:
    """Checks the replay source, the output folder, its index, the channel table and the
    archive's form; then a channel crawl takes the output folder's lock (one crawl per folder,
    ``archive/lock.py``) until the engine stops."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.context = ArchiveContext.from_crawler(crawler)
        self.lock: OutputLock | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        guard = cls(crawler)
        guard.start()
        crawler.signals.connect(guard.release, signal=signals.engine_stopped)
        return guard

    def start(self) -> None:
        settings = self.crawler.settings
        replay = settings.get("NEWSSPIDER_REPLAY_DIR")
        if replay:
            from newsspider.archive.warc import check_replay_source

            check_replay_source(replay)  # ReplayDamaged: the replay middleware would refuse it
        if not writes_archive(settings):
            return
        self.context.open()  # folder, index, channels, form: UsageError with one line
        if self.context.role == CRAWL:
            command = settings.get("NEWSSPIDER_COMMAND") or (
                f"scrapy crawl {self.crawler.spidercls.name}"
            )
            # LockBusy (a UsageError): another crawl or scheduler writes there
            self.lock = OutputLock(self.context.output, command).acquire()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None
