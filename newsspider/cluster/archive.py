"""An output folder that is one of several: the archive a cluster's worker writes into."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from newsspider.archive.channels import Channel
from newsspider.archive.index import Record
from newsspider.archive.names import name_stem, with_suffix
from newsspider.archive.store import Archive, Saved, Staged, article_key
from newsspider.article import Article
from newsspider.cluster.records import SharedRecords
from newsspider.cluster.state import WORKER, records_from_settings, role


class SharedArchive(Archive):
    """File names are claimed cluster-wide; a re-fetch keeps what another worker gave it.

    The local rule stays (a name held in this folder's index, or a file already there, gives the
    `` (DOCID)`` suffix); on top, a name another article claimed anywhere in the cluster gives the
    suffix too. So posts of separate folders can be merged without overwriting each other, and
    workers sharing one folder cannot both take the same name.
    """

    def __init__(self, output: str | Path, *, shared: SharedRecords, **kwargs: Any) -> None:
        super().__init__(output, **kwargs)
        self.shared = shared

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.shared.close()

    def _choose_path(self, article: Article, channel: Channel, key: str) -> str:
        path = super()._choose_path(article, channel, key)
        if self.shared.claim_path(path, key):
            return path
        folder = "/".join(("_posts", *channel.categories))
        suffix = article.doc_id or hashlib.sha1(key.encode()).hexdigest()[:12]
        path = f"{folder}/{with_suffix(name_stem(article.title, suffix), suffix)}.md"
        self.shared.claim_path(path, key)
        return path

    def _seed(self, article: Article) -> None:
        """An article archived before by another worker (a re-fetch) keeps its path and date,
        so its post has the bytes a single archive would give it: its record is seeded here."""
        key = article_key(article)
        local = self.index.get(key) or (self.index.by_url(article.url) if article.url else None)
        if local is None:
            known = self.shared.get(key) or (
                self.shared.by_url(article.url) if article.url else None)  # fmt: skip
            if known is not None and known.path and self.index.holder_of(known.path) is None:
                seed = Record(key=known.key, path=known.path, date=known.date,
                              first_archived=known.first_archived, channel=known.channel,
                              status="archived")  # fmt: skip
                self.index.put(seed, journal=False)

    def claim(self, article: Article, *, now: float | None = None) -> None:
        self._seed(article)
        super().claim(article, now=now)

    def stage(self, article: Article, *, now: float | None = None) -> Saved | Staged:
        self._seed(article)
        return super().stage(article, now=now)


def open_archive(settings: Any, output: str | Path, **kwargs: Any) -> Archive:
    """The archive a crawl writes ``output`` through: a :class:`SharedArchive` for a cluster's
    worker (``settings``: Scrapy's or any with ``get``), else the folder's own :class:`Archive`.
    ``kwargs`` are :class:`Archive`'s."""
    if role(settings) == WORKER:
        return SharedArchive(output, shared=records_from_settings(settings), **kwargs)
    return Archive(output, **kwargs)
