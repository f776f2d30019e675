"""Item pipelines that misbehave on purpose, for ``tests/test_accounting.py`` (loaded by the
real crawl through ``-s ITEM_PIPELINES``; ``tests/`` is on the crawl's ``PYTHONPATH``)."""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

#: doc ids (of ``rollreplay.synthetic_article``) each pipeline acts on
RAISES = "zzsyn000902"
DROPS = "zzsyn000903"


class ExplodingPipeline:
    """Raises an unexpected exception for one article and drops another without telling the
    spider (no ``record_failure``), as a user's own pipeline might."""

    def process_item(self, item: Any) -> Any:
        if item.doc_id == RAISES:
            raise ValueError("year 0 is out of range")
        if item.doc_id == DROPS:
            raise DropItem("not wanted by a user pipeline")
        return item


class LateExplodingPipeline:
    """Raises after the archive pipeline wrote the post: the article's end stays archived."""

    def process_item(self, item: Any) -> Any:
        raise RuntimeError("after the post was written")
