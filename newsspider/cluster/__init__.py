"""What a crawl on several machines shares through Redis (``--redis URL``), without Scrapy.

One feeder reads the roll lists and *offers* article requests; any number of workers pop them,
fetch, and write posts into their own ``--output``. Each output folder keeps its own SQLite index
and journal of the posts written there; Redis holds only what the cluster must agree on. Every
key lives under a prefix (``NEWSSPIDER_REDIS_PREFIX``, default ``newsspider``), so several
clusters (or test runs) can share one server:

==================  =====  =================================================================
``{p}:queue``       list   request data in scrapy-redis's start-URL JSON format (``{"url",
                           "meta"}``), oldest first; workers pop from the head
``{p}:pending``     hash   key -> data of every article offered and not yet settled (queued
                           or leased): a second offer is refused, a lapsed lease is put back
``{p}:leases``      zset   key -> lease expiry (Redis server clock, ms)
``{p}:holders``     hash   key -> token of the worker holding the lease (a fencing token)
``{p}:done``        hash   key -> the offer (``gen``) it was last archived for
``{p}:records``     hash   key -> the article's record: index columns + folder and worker
``{p}:failed``      hash   key -> record of an article that failed (the next crawl retries it)
``{p}:urls``        hash   URL -> key
``{p}:paths``       hash   post path -> key: a file name is claimed once in the whole cluster
``{p}:feeders``     zset   feeder token -> expiry: workers do not go idle while one feeds
==================  =====  =================================================================

Why a lease and not just scrapy-redis's queue: scrapy-redis pops destructively, so what a killed
worker held would be lost. Here the pop, the lease and the holder are one Lua script; a worker
renews its leases while it works; whoever notices a lapsed lease puts the article back at the
head of the queue. Every decision uses Redis's clock (``TIME`` in the scripts), so machines'
clocks need not agree. The holder token fences a worker that stalled past its lease: before
writing it *claims* the article, which fails once another worker holds it.

The package is Scrapy-free (redis-py only, imported when a client is made):

- :mod:`~newsspider.cluster.state`: the queue, the leases and the feeders (:class:`SharedState`),
  and what a crawl's settings make of them (:func:`role`);
- :mod:`~newsspider.cluster.records`: the cluster's article records (:class:`SharedRecords`), the
  same :class:`~newsspider.archive.records.ArticleRecords` a single machine's index is;
- :mod:`~newsspider.cluster.archive`: a worker's output folder (:class:`SharedArchive`);
- :mod:`~newsspider.cluster.lua`: the scripts; :mod:`~newsspider.cluster.serializer`: the JSON
  the scrapy-redis scheduler is configured with (requests in Redis are data, never pickles).

The Scrapy side (the feed middleware, the worker's queue source, the lease pipelines) is
:mod:`newsspider.crawl.cluster`.
"""

from newsspider.cluster.archive import SharedArchive, open_archive
from newsspider.cluster.records import SharedRecords
from newsspider.cluster.state import (
    DEFAULT_LEASE,
    DEFAULT_PREFIX,
    FEEDER,
    INSTALL_HINT,
    WORKER,
    SharedState,
    connect,
    new_token,
    records_from_settings,
    role,
)

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_PREFIX",
    "FEEDER",
    "INSTALL_HINT",
    "WORKER",
    "SharedArchive",
    "SharedRecords",
    "SharedState",
    "connect",
    "new_token",
    "open_archive",
    "records_from_settings",
    "role",
]
