"""The crawl's own signals: the spider says what happened to an article, the archive pipeline
(the one writer of the index) records it. A module of their own, so that neither side imports
the other."""

#: Sent with ``key``, ``url``, ``reason`` when an archived article answers 404 on a re-fetch;
#: the archive pipeline marks it ``gone``.
article_gone = object()
#: Sent with ``key``, ``url``, ``channel``, ``reason``, ``doc_id`` when a crawled article still
#: failed after its retries; the archive pipeline records it ``failed`` in the index.
article_failed = object()
