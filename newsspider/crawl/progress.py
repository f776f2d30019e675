"""A live progress line on stderr for crawls run from a terminal.

Enabled by ``NEWSSPIDER_PROGRESS`` (the ``crawl`` command sets it when stderr is a TTY); when
output goes to a file or a pipe, a redrawn line would only be noise, and the spider's plain
INFO log lines say the same thing.
"""

from __future__ import annotations

import sys
from typing import IO, Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

from newsspider.crawl.context import ArchiveContext


def progress_line(stats: dict[str, Any], failed: int) -> str:
    """One line of the figures a user watches: pages read and what happened to articles."""
    skipped = sum(
        int(stats.get(k, 0))
        for k in ("crawl/skipped_archived", "crawl/skipped_duplicate", "crawl/skipped_until")
    )
    return (
        f"pages {int(stats.get('roll/pages', 0))} | "
        f"archived {int(stats.get('archive/archived', 0))} | "
        f"updated {int(stats.get('archive/updated', 0))} | "
        f"skipped {skipped} | failed {failed}"
    )


class Progress:
    """Redraws :func:`progress_line` every ``interval`` seconds, and once more at the end."""

    def __init__(self, crawler: Crawler, stream: IO[str] | None = None, interval: float = 0.5):
        self.crawler = crawler
        self.stream = stream or sys.stderr
        self.interval = interval
        self.task = LoopingCall(self.draw)
        self.report = ArchiveContext.from_crawler(crawler).report

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("NEWSSPIDER_PROGRESS"):
            # off: NEWSSPIDER_PROGRESS is off; no message, or Scrapy logs "Disabled ..."
            raise NotConfigured()
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self.task.start(self.interval, now=True)

    def spider_closed(self) -> None:
        if self.task.running:
            self.task.stop()
        self.draw()
        self.stream.write("\n")
        self.stream.flush()

    def draw(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        failed = self.report.failed
        # \r back to the line start, \x1b[K clears what a longer previous line left
        self.stream.write("\r" + progress_line(stats, failed) + "\x1b[K")
        self.stream.flush()
