"""Archive.save: paths that never move, collisions, idempotence, atomic writes, date fallback."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import frontmatter
import pytest

from newsspider.archive.store import Archive
from newsspider.article import Article

BJ = timezone(timedelta(hours=8))


def article(doc: str, title: str, body: str = "<p>x</p>", **kw: object) -> Article:
    return Article(
        url=f"https://finance.sina.com.cn/china/2022-01-01/doc-i{doc}.shtml",
        doc_id=doc,
        title=title,
        created_at=datetime(2022, 1, 1, 8, 0, 1, tzinfo=BJ),
        body=body,
        **kw,  # type: ignore[arg-type]
    )


def test_same_title_different_articles_keep_both(tmp_path: Path) -> None:
    a = Archive(tmp_path, images="remote")
    first = a.save(article("aaa", "同一个标题"))
    second = a.save(article("bbb", "同一个标题"))
    assert first.path.endswith("/同一个标题.md")
    assert second.path.endswith("/同一个标题 (bbb).md")
    assert a.save(article("aaa", "同一个标题")).status == "unchanged"
    assert len(list(tmp_path.rglob("*.md"))) == 2


def test_update_in_place_even_when_the_headline_changes(tmp_path: Path) -> None:
    a = Archive(tmp_path, images="remote")
    first = a.save(article("ccc", "旧标题"))
    again = a.save(article("ccc", "新标题", body="<p>corrected</p>"))
    assert again.status == "updated" and again.path == first.path
    post = frontmatter.load(tmp_path / first.path)
    assert post["title"] == "新标题" and "corrected" in post.content
    assert len(list(tmp_path.rglob("*.md"))) == 1


def test_unchanged_is_not_rewritten(tmp_path: Path) -> None:
    a = Archive(tmp_path, images="remote")
    saved = a.save(article("ddd", "t"))
    target = tmp_path / saved.path
    os.utime(target, ns=(1, 1))
    assert a.save(article("ddd", "t")).status == "unchanged"
    assert os.stat(target).st_mtime_ns == 1


def test_crash_during_write_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = Archive(tmp_path, images="remote")

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        a.save(article("eee", "t"))
    monkeypatch.undo()
    assert list(tmp_path.rglob("*.md")) == [] and list(tmp_path.rglob("*.tmp")) == []
    # the path was reserved for this article: the next run writes it there, once
    saved = a.save(article("eee", "t"))
    assert saved.status == "archived" and saved.path.endswith("/t.md")


def test_date_falls_back_to_first_archived_and_stays(tmp_path: Path) -> None:
    a = Archive(tmp_path, images="remote")
    undated = replace(article("fff", "t"), created_at=None)
    first = a.save(undated, now=1_600_000_000)
    again = a.save(undated, now=1_700_000_000)
    assert again.status == "unchanged"
    assert frontmatter.load(tmp_path / first.path)["date"] == "Sun, 13 Sep 2020 12:26:40 GMT"


def test_date_order_create_at_then_roll_ctime_then_page(tmp_path: Path) -> None:
    a = Archive(tmp_path, images="remote")
    page = datetime(2022, 1, 1, 8, 5, tzinfo=BJ)
    rolled = replace(article("ggg", "g"), created_at=None, published=page, roll_ctime=1640995203)
    saved = a.save(rolled)
    assert frontmatter.load(tmp_path / saved.path)["date"] == "Sat, 01 Jan 2022 00:00:03 GMT"
    paged = replace(article("hhh", "h"), created_at=None, published=page)
    saved = a.save(paged)
    assert frontmatter.load(tmp_path / saved.path)["date"] == "Sat, 01 Jan 2022 00:05:00 GMT"


def test_local_mode_links_downloaded_images(tmp_path: Path) -> None:
    a = Archive(tmp_path, images="local")
    body = '<img src="https://n.sinaimg.cn/a.jpg" referrerpolicy="no-referrer">'
    remote = "https://n.sinaimg.cn/a.jpg"
    art = article(
        "iii", "i", body=body, images=[remote], local_images={remote: "images/n.sinaimg.cn/a.jpg"}
    )
    text = (tmp_path / a.save(art).path).read_text("utf-8")
    assert "headimg: '/images/n.sinaimg.cn/a.jpg'" in text
    assert '<img src="/images/n.sinaimg.cn/a.jpg"' in text
