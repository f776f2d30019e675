"""The roll API reader, the --since/--until parser and the front matter reader, without a crawl."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsspider.archive.maintenance import read_front_matter
from newsspider.crawl.progress import progress_line
from newsspider.crawl.roll import (
    RollError,
    RollItem,
    is_sina_host,
    parse_roll,
    parse_when,
    strip_jsonp,
)

CONSTRUCTED = Path("/work/shared/corpus/api/roll-155-1686-constructed.json")
ARCHIVED = Path(__file__).parent / "fixtures" / "archived"
BEIJING = timezone(timedelta(hours=8))


def _answer(items: list[object], code: object = 0) -> bytes:
    return json.dumps({"result": {"status": {"code": code, "msg": "x"}, "total": 9,
                                  "data": items}}).encode()  # fmt: skip


GOOD = {"url": "http://finance.sina.com.cn/china/2021-12-02/doc-ikyamrmy6387093.shtml",
        "title": "t...", "ctime": "1638450952", "mtime": 1638451252}  # fmt: skip


def test_constructed_answer_reads_as_documented() -> None:
    text = CONSTRUCTED.read_bytes() if CONSTRUCTED.exists() else _answer([GOOD] * 5)
    page = parse_roll(text)
    assert len(page.items) == 5 and not page.problems
    first = page.items[0]
    assert first.url.startswith("https://") and "?" not in first.url
    assert first.doc_id and first.ctime and first.mtime and first.mtime > first.ctime


def test_item_fields() -> None:
    item = parse_roll(_answer([GOOD])).items[0]
    assert item == RollItem(
        "https://finance.sina.com.cn/china/2021-12-02/doc-ikyamrmy6387093.shtml",
        "kyamrmy6387093", "t...", 1638450952, 1638451252,
    )  # fmt: skip
    assert item.key == "kyamrmy6387093"


def test_url_is_canonical_and_comos_docid_is_used_when_the_url_has_none() -> None:
    raw = {"url": "https://k.sina.com.cn/article_1_2.html?from=x#top", "docid": "comos:abc123"}
    item = parse_roll(_answer([raw])).items[0]
    assert item.url == "https://k.sina.com.cn/article_1_2.html" and item.doc_id == "abc123"


@pytest.mark.parametrize(
    "wrapper",
    ["try{cb(%s);}catch(e){};", "cb(%s);", "cb(%s)", " try { jQuery_1.x(%s); } catch(e) {} ;\n"],
)
def test_jsonp_wrapper_is_tolerated(wrapper: str) -> None:
    body = wrapper % _answer([GOOD]).decode()
    assert len(parse_roll(body.encode()).items) == 1
    assert strip_jsonp('{"a": 1}') == '{"a": 1}'


@pytest.mark.parametrize(
    ("body", "stat"),
    [
        (b"<html>502 Bad Gateway</html>", "not_json"),
        (b"", "empty_body"),
        (b"[1, 2]", "bad_shape"),
        (_answer([GOOD], code=1), "bad_status"),
        (_answer([GOOD], code="11"), "bad_status"),
        (json.dumps({"result": {"status": {"code": 0}, "data": {"x": 1}}}).encode(), "bad_shape"),
    ],
)
def test_unusable_answers_raise_with_a_stat(body: bytes, stat: str) -> None:
    with pytest.raises(RollError) as info:
        parse_roll(body)
    assert info.value.stat == stat and str(info.value)


def test_empty_data_is_an_empty_page() -> None:
    page = parse_roll(_answer([]))
    assert page.items == [] and page.raw_count == 0


@pytest.mark.parametrize(
    ("raw", "stat"),
    [
        ("just a string", "not_object"),
        ({"title": "no url"}, "no_url"),
        ({"url": ""}, "no_url"),
        ({"url": 12345}, "bad_type"),
        ({"url": "javascript:void(0)"}, "bad_scheme"),
        ({"url": " JavaScript:alert(1)"}, "bad_scheme"),
        ({"url": "ftp://finance.sina.com.cn/x"}, "bad_scheme"),
        ({"url": "https://www.example.com/doc-iabc.shtml"}, "foreign_host"),
        ({"url": "https://sina.com.cn.evil.com/a.shtml"}, "foreign_host"),
        ({"url": "https://finance.sina.com.cn/a.shtml", "ctime": "yesterday"}, "bad_type"),
        ({"url": "https://finance.sina.com.cn/a.shtml", "mtime": [1]}, "bad_type"),
    ],
)
def test_broken_items_are_refused_and_the_rest_kept(raw: object, stat: str) -> None:
    page = parse_roll(_answer([raw, GOOD]))
    assert len(page.items) == 1 and page.raw_count == 2
    assert [p[0] for p in page.problems] == [stat]


def test_sina_hosts() -> None:
    assert is_sina_host("finance.sina.com.cn") and is_sina_host("finance.sina.cn")
    assert is_sina_host("K.SINA.COM.CN.")
    assert not is_sina_host("sina.com.cn.example.org") and not is_sina_host("notsina.cn")


def test_since_until_parsing() -> None:
    assert parse_when("2024-05-10") == datetime(2024, 5, 10, tzinfo=BEIJING)
    assert parse_when("2024-05-10", end=True) == datetime(2024, 5, 10, 23, 59, 59, tzinfo=BEIJING)
    assert parse_when("2024-05-10T08:30") == datetime(2024, 5, 10, 8, 30, tzinfo=BEIJING)
    assert parse_when("2024-05-10 08:30:00+00:00").utcoffset() == timedelta(0)
    assert parse_when("2024-05-10T00:30:00Z") == datetime(2024, 5, 10, 8, 30, tzinfo=BEIJING)
    with pytest.raises(ValueError, match="ISO"):
        parse_when("last tuesday")


def test_front_matter_of_every_archived_post() -> None:
    posts = sorted(ARCHIVED.glob("*.md"))
    assert len(posts) == 34
    for post in posts:
        fm = read_front_matter(post.read_bytes())
        assert len(fm.categories) == 3, post.name
        assert fm.title and fm.date, post.name


def test_progress_line() -> None:
    stats = {"roll/pages": 3, "archive/archived": 7, "crawl/skipped_archived": 40,
             "crawl/skipped_duplicate": 2}  # fmt: skip
    assert progress_line(stats, 1) == "pages 3 | archived 7 | updated 0 | skipped 42 | failed 1"


# --- where a URL really goes: one function for roll items, redirects, fetch, images ----------


@pytest.mark.parametrize(
    ("url", "offsite"),
    [
        ("https://finance.sina.com.cn/china/doc-ia.shtml", None),
        ("http://finance.sina.com.cn:80/china/doc-ia.shtml", None),
        ("https://FINANCE.SINA.COM.CN./china/doc-ia.shtml", None),
        ("https://finance.sina\u3002com\u3002cn/china/doc-ia.shtml", None),  # ideographic dots
        ("https://fin%61nce.sina.com.cn/china/doc-ia.shtml", None),
        ("https://user@finance.sina.com.cn/china/doc-ia.shtml", None),
        ("https://evil.example.com\\.finance.sina.com.cn/doc-ia.shtml", "evil.example.com"),
        ("https:\\\\evil.example.com/doc-ia.shtml", "evil.example.com"),
        ("https://finance.sina.com.cn@evil.example.com/doc-ia.shtml", "evil.example.com"),
        ("https://%65vil.example.com/doc-ia.shtml", "evil.example.com"),
        ("https://finance.s\u0456na.com.cn/doc-ia.shtml", "finance.xn--sna-jhd.com.cn"),
        ("https://finance.sina.com.cn:8443/doc-ia.shtml", "finance.sina.com.cn:8443"),
        ("https://finance.sina.com.cn.evil.example/d.shtml", "finance.sina.com.cn.evil.example"),
        ("https://127.0.0.1/doc-ia.shtml", "127.0.0.1"),
        ("https://evil.example.com%2f.finance.sina.com.cn/doc-ia.shtml",
         "https://evil.example.com%2f.finance.sina.com.cn/doc-ia.shtml"),  # no such host name
        ("javascript:alert(1)", "javascript:alert(1)"),
    ],
)  # fmt: skip
def test_offsite_host_judges_where_the_downloader_goes(url: str, offsite: str | None) -> None:
    from scrapy import Request
    from scrapy.utils.httpobj import urlparse_cached

    from newsspider.markup.urls import offsite_host

    assert offsite_host(url) == offsite
    if offsite is None:  # and Scrapy's request really goes to a Sina host
        host = urlparse_cached(Request(url)).hostname or ""
        assert is_sina_host(host.replace("%61", "a")), host


def test_canonical_article_url_is_the_url_requested() -> None:
    from newsspider.markup.urls import canonical_article_url

    same = "https://finance.sina.com.cn/china/doc-ia.shtml"
    for spelling in ("http://finance.sina.com.cn:80/china/doc-ia.shtml?x=1#y",
                     "https://FINANCE.sina.com.cn./china/doc-ia.shtml",
                     "https://user:pw@finance.sina.com.cn/china/doc-ia.shtml",
                     "https://fin%61nce.sina.com.cn:443/china/doc-ia.shtml"):  # fmt: skip
        assert canonical_article_url(spelling) == same, spelling
