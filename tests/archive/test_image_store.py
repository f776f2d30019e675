"""The images store: Scrapy's files-store interface over the archive's images/ and its index."""

from __future__ import annotations

import os
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from test_image_paths import png

from newsspider.archive.images import ImageRejected, ImageStore, ImageTable
from newsspider.archive.index import Index
from newsspider.archive.names import image_path

URL = "https://n.sinaimg.cn/news/a/b.jpg"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[ImageStore, ImageTable]]:
    index = Index(tmp_path)
    table = ImageTable(index)
    image_store = ImageStore(str(tmp_path))
    image_store.open(table)
    yield image_store, table
    image_store.close()
    index.close()


def test_claim_persist_and_stat(store: tuple[ImageStore, ImageTable], tmp_path: Path) -> None:
    image_store, table = store
    assert image_store.path_of(URL) == ""
    assert image_store.stat_file("", None) == {}
    data = png()
    path = image_store.claim(URL, "PNG")
    assert path == image_path(URL, "PNG") == image_store.path_of(URL)
    assert image_store.stat_file(path, None) == {}, "claimed, not yet written: absent"
    image_store.persist_file(path, BytesIO(data), None, meta={"format": "PNG"})
    assert (tmp_path / path).read_bytes() == data
    row = table.get(URL)
    assert row is not None and (row.status, row.bytes, row.format) == ("ok", len(data), "PNG")
    stat = image_store.stat_file(path, None)
    assert stat == {"last_modified": os.stat(tmp_path / path).st_mtime}
    # a path that differs only in case belongs to the same row, but is not this file's name
    assert image_store.stat_file(path.upper(), None) == {}
    (tmp_path / path).unlink()
    assert image_store.stat_file(path, None) == {}, "gone from disk: downloaded again"


def test_persist_refuses_an_unclaimed_path_and_a_path_outside(
    store: tuple[ImageStore, ImageTable], tmp_path: Path
) -> None:
    image_store, table = store
    with pytest.raises(ImageRejected, match="claimed by no image"):
        image_store.persist_file("images/x/y.png", BytesIO(png()), None)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "n.sinaimg.cn").symlink_to(outside)
    path = image_store.claim(URL, "PNG")
    with pytest.raises(ImageRejected, match="outside"):
        image_store.persist_file(path, BytesIO(png()), None, meta={"format": "PNG"})
    assert list(outside.iterdir()) == []
    row = table.get(URL)
    assert row is not None and row.status != "ok"


def test_unopened_store_says_so(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="before the crawl opened it"):
        ImageStore(f"file://{tmp_path}").path_of(URL)
