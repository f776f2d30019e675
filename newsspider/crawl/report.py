"""The run report: what one crawl did, as one object whoever started the crawl reads.

``newsspider crawl`` prints it and turns it into an exit status; ``scrapy crawl`` and Scrapyd,
which have no status of their own, get it as log lines, stats and the summary file
(``NEWSSPIDER_SUMMARY_JSON``). The spider, the pipelines and the progress line all write into
the same report (:class:`~newsspider.crawl.context.ArchiveContext` holds it), so nobody reads
figures back from spider attributes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsspider.crawl.health import ExtractionHealth

logger = logging.getLogger(__name__)

#: the ends an article request can have (exit-status.md): exactly one each
END_STATES = ("archived", "updated", "unchanged", "failed")
#: stats worth keeping in the summary file (the rest is Scrapy's housekeeping)
SUMMARY_STATS = ("roll/", "crawl/", "archive/", "article/", "replay/", "newsspider/", "images/",
                 "downloader/request_count", "downloader/response_count",
                 "downloader/response_status_count/", "finish_reason")  # fmt: skip
#: listed items that were not requested, counted apart from the requested ones
SKIPPED_STATS = ("crawl/skipped_archived", "crawl/skipped_duplicate", "crawl/skipped_until",
                 # listed and queued but never sent: the crawl stopped first (the ledger)
                 "crawl/skipped_stopped")  # fmt: skip
#: the stat the health alarm sets (the number of its warnings): ``scrapy crawl`` has no status
HEALTH_STAT = "newsspider/health_alarm"


class ArticleLedger:
    """Every article request of a run and its one end: archived, updated, unchanged or failed.

    Why a ledger: a request can be lost in many places (a redirect loop the duplicate filter
    swallows, a pipeline that raises, a crawl closed with requests still queued), and each
    place must not need its own bookkeeping. Requests are entered when the spider makes them;
    ends arrive from the callbacks, errbacks, pipelines and Scrapy's signals, and the first end
    of a request is its end (later ones are counted under ``newsspider/late_end`` and
    ignored). When the spider closes, the report gives every request still open an end, so
    that ``archived + updated + unchanged + failed == requested`` holds in every summary.

    A roll page that could not be read is a failed request too: it is entered and failed at
    once (``requested`` and ``failed`` both count it; its articles were never known).
    """

    def __init__(self) -> None:
        #: key (the URL as requested) -> (state, reason) once ended, None while open
        self.entries: dict[str, tuple[str, str] | None] = {}
        #: article URL as extracted (after in-site redirects) -> the request's key
        self.aliases: dict[str, str] = {}
        #: keys whose request (or a redirect of it) reached the downloader
        self.sent: set[str] = set()
        #: keys withdrawn at close: made but never sent (the crawl stopped first)
        self.withdrawn: list[str] = []
        self.late_ends = 0

    def begin(self, key: str) -> None:
        self.entries.setdefault(key, None)

    def key_for(self, url: str) -> str:
        return url if url in self.entries else self.aliases.get(url, url)

    def end(self, key: str, state: str, reason: str = "") -> bool:
        """Record ``key``'s end; False (and nothing changes) when it already had one."""
        assert state in END_STATES, state
        if self.entries.get(key) is not None:
            self.late_ends += 1
            return False
        self.entries[key] = (state, reason)
        return True

    def open_keys(self) -> list[str]:
        return [key for key, end in self.entries.items() if end is None]

    @property
    def requested(self) -> int:
        return len(self.entries)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(END_STATES, 0)
        for end in self.entries.values():
            if end is not None:
                counts[end[0]] += 1
        return counts

    def failures(self) -> dict[str, str]:
        return {k: e[1] for k, e in self.entries.items() if e is not None and e[0] == "failed"}


class RunReport:
    """One crawl's figures: every request's end (the ledger), the health check's input and
    verdict, the roll pages read and why each channel stopped.

    ``stats`` gives the crawler's stats collector, or None before Scrapy made it (a report is
    made with the spider, before the crawler's stats exist)."""

    def __init__(self, stats: Callable[[], Any] = lambda: None) -> None:
        self._stats = stats
        self.ledger = ArticleLedger()
        #: what extraction made of the article pages, per channel (the health check's input)
        self.extraction = ExtractionHealth()
        #: the health check's verdict, filled when the crawl closes (:meth:`close`)
        self.health: list[str] = []
        #: channel keys in the order crawled (the summary names them)
        self.channels: list[str] = []
        #: channel key -> why its pagination ended
        self.stop_reasons: dict[str, str] = {}
        self.pages_read = 0
        self.finish_reason = ""
        self.closed = False

    @property
    def stats(self) -> Any:
        return self._stats()

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    # --- ends ---
    def fail(self, url: str, reason: str, stat: str = "failed") -> None:
        """A failed request: an article's (by its requested URL or the URL it was extracted
        under) or a roll page's (entered now: see :class:`ArticleLedger`). One line, one
        stat, whatever reached here first is the request's end."""
        key = self.ledger.key_for(url)
        self.ledger.begin(key)
        reason = " ".join(reason.split())  # one line, whatever an exception's message held
        if not self.ledger.end(key, "failed", reason):
            logger.debug("failed %s again (%s): its first end stands", key, reason)
            self._inc("newsspider/late_end")
            return
        self._inc(f"newsspider/{stat}")
        logger.warning("failed %s: %s", key, reason)

    def end(self, url: str, state: str) -> None:
        """An article that ended archived, updated or unchanged."""
        key = self.ledger.key_for(url)
        self.ledger.begin(key)
        if not self.ledger.end(key, state):
            self._inc("newsspider/late_end")

    def saved(self, url: str, status: str) -> None:
        """The archive pipeline wrote (or kept) the post: the article's end."""
        state = "unchanged" if status == "adopted" else status
        if state in END_STATES:
            self.end(self.ledger.key_for(url), state)

    # --- reading ---
    @property
    def requested(self) -> int:
        return self.ledger.requested

    @property
    def failed(self) -> int:
        return sum(1 for e in self.ledger.entries.values() if e is not None and e[0] == "failed")

    def counts(self) -> dict[str, int]:
        return self.ledger.counts()

    def failures(self) -> dict[str, str]:
        return self.ledger.failures()

    def figures(self) -> dict[str, int]:
        """The summary line's figures: the four ends, then what a crawl adds where it has it
        (adopted and gone when any, skipped and roll pages always, requested when any)."""
        stats = self.stats.get_stats() if self.stats is not None else {}
        counts = self.counts()
        extra = {
            "adopted": int(stats.get("archive/adopted", 0)),
            "gone": int(stats.get("archive/gone", 0)),
            "skipped": sum(int(stats.get(k, 0)) for k in SKIPPED_STATS),
            "requested": self.requested,
            "pages": self.pages_read,
        }
        if not self.channels:  # a fetch or a worker: no roll list, nothing skipped
            return counts
        counts.update({k: v for k, v in extra.items() if v or k in ("skipped", "pages")})
        return counts

    def summary(self) -> dict[str, Any]:
        """The summary file's content (``--summary-json``, ``NEWSSPIDER_SUMMARY_JSON``)."""
        stats = self.stats.get_stats() if self.stats is not None else {}
        stats = {**stats, "finish_reason": self.finish_reason or stats.get("finish_reason", "")}
        figures = self.figures()
        for key in ("adopted", "gone", "skipped", "requested", "pages"):
            figures.setdefault(key, 0)
        figures["requested"] = self.requested
        figures["pages"] = self.pages_read
        return {
            "channels": self.channels,
            "finish_reason": str(stats["finish_reason"]),
            "health": self.health,
            "counts": figures,
            "stopped": self.stop_reasons,
            "failures": [{"url": u, "reason": r} for u, r in self.failures().items()],
            "stats": {k: v for k, v in sorted(stats.items()) if k.startswith(SUMMARY_STATS)},
        }

    # --- the end ---
    def close(self, reason: str, *, sends_articles: bool = True) -> None:
        """The crawl closed: every request still open gets its end, the health check gives
        its verdict (a log line each, and :data:`HEALTH_STAT`).

        A request sent to the network but never answered (the crawl stopped under it) fails;
        one never sent (still queued when CLOSESPIDER_*, Ctrl-C or an engine stop ended the
        crawl) is withdrawn: not requested, counted apart (``crawl/skipped_stopped``), and the
        next crawl lists it again. ``sends_articles`` False: a cluster's feeder, whose article
        requests went to Redis, not to the network (nothing of them ends here)."""
        if self.closed:
            return
        self.closed = True
        self.finish_reason = reason
        if sends_articles:
            for key in self.ledger.open_keys():
                if key in self.ledger.sent:
                    why = (
                        f"the crawl stopped ({reason or 'closed'}) before its answer was processed"
                    )
                    self.fail(key, why)
                elif reason in ("", "finished"):
                    # a finished crawl sends everything it queued: this one was filtered on the
                    # way (a spider middleware, a request_scheduled handler) without a signal
                    self.fail(key, "never sent: filtered out before the download")
                else:
                    del self.ledger.entries[key]
                    self.ledger.withdrawn.append(key)
                    self._inc("crawl/skipped_stopped")
            if self.stats is not None:
                for state, n in self.ledger.counts().items():
                    self.stats.set_value(f"articles/{state}", n)
                self.stats.set_value("articles/requested", self.ledger.requested)
        self.health = self.extraction.warnings()
        for warning in self.health:
            logger.warning("health: %s", warning)
        note = self.extraction.generic_note()  # #18: said whatever the share
        if note:
            logger.warning("health: %s", note)
        if self.health and self.stats is not None:
            self.stats.set_value(HEALTH_STAT, len(self.health))

    def write(self, path: str | Path) -> None:
        """The summary file: the run's figures, every failed URL with its reason, the health
        verdict. Written whole (a reader never sees half of it)."""
        target = Path(path)
        data = json.dumps(self.summary(), ensure_ascii=False, indent=1, default=str) + "\n"
        temp = target.with_name(f".{target.name}.tmp")
        temp.write_text(data, "utf-8")
        temp.replace(target)
