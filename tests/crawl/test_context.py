"""One archive context per crawler: one output folder read, one index connection, one report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import PROJECT
from scrapy.utils.test import get_crawler

from newsspider.archive import index as index_module
from newsspider.crawl.context import ArchiveContext, report_of
from newsspider.crawl.images import ImagesPipeline
from newsspider.crawl.pipelines import ArchivePipeline, ArticlePipeline
from newsspider.crawl.spiders.sina import SinaSpider


def test_one_crawl_opens_one_index_connection_shared_by_spider_and_pipelines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[object] = []
    real_init = index_module.Index.__init__

    def counting_init(self: index_module.Index, *args: object, **kwargs: object) -> None:
        opened.append(self)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(index_module.Index, "__init__", counting_init)
    crawler = get_crawler(SinaSpider, {"NEWSSPIDER_OUTPUT": str(tmp_path / "out"),
                                       "NEWSSPIDER_IMAGES": "local"})  # fmt: skip
    spider = SinaSpider.from_crawler(crawler, channel="china")
    crawler.spider = spider
    context = ArchiveContext.from_crawler(crawler)
    assert spider.context is context and ArchiveContext.from_crawler(crawler) is context
    validate = ArticlePipeline.from_crawler(crawler)
    images = ImagesPipeline.from_crawler(crawler)
    archive = ArchivePipeline.from_crawler(crawler)
    images.open_spider()
    assert validate.context is context
    assert images.index is archive.archive.index is context.index
    assert opened == [context.index]  # one connection for the whole crawl
    assert context.output == tmp_path / "out"
    assert report_of(crawler) is spider.report is context.report
    archive.close_spider()
    images.close_spider()
    context.report.close("finished")
    context.close()
    assert context._index is None
    assert len(opened) == 1


def test_a_second_crawler_gets_its_own_context(tmp_path: Path) -> None:
    settings = {"NEWSSPIDER_OUTPUT": str(tmp_path)}
    first, second = get_crawler(SinaSpider, settings), get_crawler(SinaSpider, settings)
    assert ArchiveContext.from_crawler(first) is not ArchiveContext.from_crawler(second)


def test_the_output_default_is_said_once() -> None:
    """NEWSSPIDER_OUTPUT's fallback lives in the archive context, nowhere else in the crawl."""
    found = [
        f"{path.relative_to(PROJECT)}:{n}"
        for path in (PROJECT / "newsspider").rglob("*.py")
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if re.search(r"""NEWSSPIDER_OUTPUT["']\)?\s*(or|,)\s*["']output""", line)
    ]
    assert found == [], found


def test_no_component_reads_the_report_back_from_the_spider() -> None:
    """The run's figures live in the report, not in spider attributes read with getattr."""
    report_names = ("failures", "ledger", "articles_requested", "pages_read", "health_warnings",
                    "stop_reasons", "extraction", "record_failure", "refresh")  # fmt: skip
    pattern = re.compile(r"getattr\(\s*(self\.crawler\.spider|crawler\.spider|spider)\s*,\s*"
                         r"[\"'](" + "|".join(report_names) + r")[\"']")  # fmt: skip
    found = [
        f"{path.relative_to(PROJECT)}:{n}"
        for path in (PROJECT / "newsspider").rglob("*.py")
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == [], found
