"""Where a crawl's articles are recorded: the one interface the crawl asks it through.

A single-machine crawl records articles in its output folder's SQLite index
(:class:`~newsspider.archive.index.Index`); a cluster's feeder and workers also record them in
Redis (:class:`newsspider.cluster.records.SharedRecords`), since a feeder's own folder knows
nothing of what the workers archived. The crawl asks both the same questions (is this article
known, and how did it end? what failed and is due again?) and tells both the same outcomes
(archived, failed, gone), so both satisfy :class:`ArticleRecords` and the spider takes either
without knowing which it has.

What is *not* here, and why: the lease a worker holds on an article (``claim`` before writing,
``done`` after) is the cluster's queue, not a record: a single machine has nobody to claim
against (its output-folder lock already keeps a second crawl out), so it lives with the queue in
:mod:`newsspider.cluster.state`. The cluster-wide claim of a post file name is likewise the
cluster's (:class:`newsspider.cluster.archive.SharedArchive`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from newsspider.archive.index import Record

#: statuses of an article whose post is on disk and good: a failure never demotes them
SETTLED = frozenset({"archived", "imported", "gone"})


@runtime_checkable
class ArticleRecords(Protocol):
    """The records of archived, failed and gone articles, keyed by doc id (else URL)."""

    def get(self, key: str) -> Record | None:
        """The record of ``key``, or None when the article was never seen."""
        ...

    def by_url(self, url: str) -> Record | None:
        """The record of the article at ``url`` (a page without a doc id is keyed by it)."""
        ...

    def failed(self) -> list[Record]:
        """Articles whose last attempt failed, by key: a crawl requests them again."""
        ...

    def records(self) -> Iterator[Record]:
        """Every record, by key (``crawl --refresh --template`` picks from them)."""
        ...

    def put(self, rec: Record) -> None:
        """Record an outcome as a whole row (an archived article's, typically)."""
        ...

    def mark_failed(self, key: str, url: str, channel: str, reason: str, *,
                    doc_id: str = "") -> Record | None:  # fmt: skip
        """Still failing after the retries: ``failed``, its reason, one more attempt. A
        settled article (:data:`SETTLED`) is never demoted: returns None then."""
        ...

    def mark_gone(self, key: str, reason: str, *, now: float | None = None) -> bool:
        """Sina no longer serves an archived article: ``gone`` (its post stays); False when
        ``key`` has no record."""
        ...

    def close(self) -> None: ...
