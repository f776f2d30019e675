"""Replay and record middlewares inside real Scrapy crawls.

Every crawl runs in its own subprocess (see crawlutil.py) with settings built here, not the
project's, so what is tested is the middleware at its documented place among Scrapy's own.
"""

from __future__ import annotations

import gzip
import http.client
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from crawlutil import (
    CrawlResult,
    UrlListSpider,
    body_of,
    record_settings,
    replay_settings,
    run_spider,
)
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from server import Fault, LocalHTTPServer, Route, http_server_fixture, redirect  # noqa: F401

from newsspider.archive.replay import MANIFEST_NAME, ReplayDir, parse_manifest
from newsspider.crawl.middlewares import RecordDownloaderMiddleware, ReplayDownloaderMiddleware

SINA = "https://finance.sina.com.cn"
ARTICLE_BODY = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    "</head><body><h1>新浪财经</h1></body></html>"
).encode("gb2312")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(64))
GZIP_FILE = gzip.compress(b"an archive, not an encoding")


def write_archive(
    root: Path, rows: list[tuple[str, str, int, str]], files: dict[str, bytes]
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    lines = ["url\tfile\tstatus\tcontent_type"]
    lines += [f"{url}\t{file}\t{status}\t{ctype}" for url, file, status, ctype in rows]
    (root / MANIFEST_NAME).write_text("\n".join(lines) + "\n", "utf-8")
    return root


# --- one replayed crawl, many assertions ---------------------------------------------------

REPLAY_URLS = {
    "article": f"{SINA}/china/doc-1.shtml",
    "image": "https://n.sinaimg.cn/0.jpg",
    "empty": f"{SINA}/empty",
    "gone": f"{SINA}/gone",
    "chain": f"{SINA}/hop1",
    "query": f"{SINA}/search?a=1&b=2",
    "gzfile": f"{SINA}/dump.gz",
    "unknown": f"{SINA}/not-in-manifest",
    "unknown_host": "https://unknown-host.example/x",
    "private": f"{SINA}/private/secret",
}


@pytest.fixture(scope="module")
def replay_crawl(tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    """One offline crawl of an archive that exercises every kind of manifest row.

    ROBOTSTXT_OBEY is on, so robots.txt of both hosts is requested too; the network guard is
    on, so any connect or name lookup anywhere in the process is logged.
    """
    root = write_archive(
        tmp_path_factory.mktemp("archive"),
        [
            # Rows out of order on purpose.
            (f"{SINA}/hop3", f"->{REPLAY_URLS['article']}", 307, ""),
            (REPLAY_URLS["article"], "article.html", 200, "text/html; charset=gb2312"),
            (REPLAY_URLS["image"], "img/0.jpg", 200, "image/jpeg"),
            (REPLAY_URLS["empty"], "", 200, "text/html"),
            (REPLAY_URLS["gone"], "", 404, "text/html"),
            (f"{SINA}/hop1", f"->{SINA}/hop2", 301, "text/html"),
            (f"{SINA}/hop2", f"->{SINA}/hop3", 302, ""),
            (f"{SINA}/search?b=2&a=1", "search.html", 200, "text/html; charset=utf-8"),
            (REPLAY_URLS["gzfile"], "dump.gz", 200, "application/gzip"),
            (f"{SINA}/robots.txt", "robots.txt", 200, "text/plain"),
            (REPLAY_URLS["private"], "article.html", 200, "text/html"),
        ],
        {
            "article.html": ARTICLE_BODY,
            "img/0.jpg": JPEG,
            "search.html": b"<html>results</html>",
            "dump.gz": GZIP_FILE,
            "robots.txt": b"User-agent: *\nDisallow: /private/\n",
        },
    )
    return run_spider(
        UrlListSpider,
        {**replay_settings(root), "ROBOTSTXT_OBEY": True},
        spider_kwargs={"urls": list(REPLAY_URLS.values())},
        forbid_network=True,
    )


def item_for(result: CrawlResult, key: str) -> dict[str, Any]:
    return result.by_start_url()[REPLAY_URLS[key]]


def test_replayed_page_is_served_byte_for_byte(replay_crawl: CrawlResult) -> None:
    item = item_for(replay_crawl, "article")
    assert item["status"] == 200
    assert body_of(item) == ARTICLE_BODY  # still GB2312: no transcoding on the way
    assert item["content_type"] == "text/html; charset=gb2312"
    assert item["response_class"] == "HtmlResponse"
    assert item["flags"] == ["replay"]
    assert item["content_encoding"] is None


def test_replayed_image(replay_crawl: CrawlResult) -> None:
    item = item_for(replay_crawl, "image")
    assert (item["status"], body_of(item), item["content_type"]) == (200, JPEG, "image/jpeg")


def test_empty_file_field_replays_an_empty_body(replay_crawl: CrawlResult) -> None:
    item = item_for(replay_crawl, "empty")
    assert (item["status"], body_of(item)) == (200, b"")


def test_404_row_and_unknown_urls_are_404_with_empty_body(replay_crawl: CrawlResult) -> None:
    for key in ("gone", "unknown", "unknown_host"):
        item = item_for(replay_crawl, key)
        assert (item["status"], body_of(item), item["flags"]) == (404, b"", ["replay"]), key


def test_redirect_rows_are_followed_by_redirect_middleware(replay_crawl: CrawlResult) -> None:
    item = item_for(replay_crawl, "chain")
    assert item["url"] == REPLAY_URLS["article"]
    assert item["redirect_urls"] == [f"{SINA}/hop1", f"{SINA}/hop2", f"{SINA}/hop3"]
    assert item["redirect_reasons"] == ["301", "302", "307"]
    assert body_of(item) == ARTICLE_BODY
    assert replay_crawl.stats["replay/redirects"] == 3


def test_query_argument_order_is_irrelevant(replay_crawl: CrawlResult) -> None:
    item = item_for(replay_crawl, "query")
    assert (item["status"], body_of(item)) == (200, b"<html>results</html>")


def test_stored_bodies_are_not_decoded_again(replay_crawl: CrawlResult) -> None:
    """HttpCompressionMiddleware sees replayed responses; it must not touch a stored .gz."""
    item = item_for(replay_crawl, "gzfile")
    assert body_of(item) == GZIP_FILE
    assert "httpcompression/response_count" not in replay_crawl.stats


def test_robots_txt_is_replayed_and_obeyed(replay_crawl: CrawlResult) -> None:
    item = item_for(replay_crawl, "private")
    assert item["error"] == "IgnoreRequest"
    assert replay_crawl.stats["robotstxt/forbidden"] == 1
    assert replay_crawl.stats["robotstxt/response_status_count/200"] == 1  # sina's, replayed
    assert replay_crawl.stats["robotstxt/response_status_count/404"] == 2  # two hosts unknown


def test_replay_stats(replay_crawl: CrawlResult) -> None:
    stats = replay_crawl.stats
    # 10 start URLs - 1 forbidden + 3 redirect hops + 3 robots.txt
    assert stats["replay/hits"] + stats["replay/misses"] == 15
    assert stats["replay/misses"] == 4  # unknown, unknown_host, 2 robots.txt
    # DownloaderStats (850) ran on both sides: replay sits above it.
    assert stats["downloader/request_count"] == stats["downloader/response_count"] == 15


def test_a_replayed_crawl_never_opens_a_network_connection(replay_crawl: CrawlResult) -> None:
    # The crawl did run: every start URL got an answer or a robots.txt refusal...
    assert len(replay_crawl.items) == len(REPLAY_URLS)
    assert len(list(replay_crawl.responses())) == len(REPLAY_URLS) - 1
    # ...and nothing in the process tried to connect or resolve a name, not even for
    # robots.txt, a URL missing from the manifest, or a host nobody could resolve.
    assert replay_crawl.network_attempts == []


def test_the_network_guard_does_catch_a_live_crawl(http_server: LocalHTTPServer) -> None:
    """Control for the test above: the same guard, a crawl that does use the network."""
    http_server.routes["/a"] = (200, {"Content-Type": "text/html"}, b"<html>a</html>")
    result = run_spider(
        UrlListSpider,
        {"RETRY_ENABLED": False, "DOWNLOAD_TIMEOUT": 5},
        spider_kwargs={"urls": [http_server.url("/a"), "http://unknown-host.example/x"]},
        forbid_network=True,
    )
    attempts = "\n".join(result.network_attempts)
    assert f"('127.0.0.1', {http_server.port})" in attempts  # the connect was caught
    assert "unknown-host.example" in attempts  # and so was the DNS lookup
    assert http_server.hits["/a"] == 0  # and refused, not merely logged
    assert all("error" in item for item in result.items)


def test_http_cache_neither_shadows_nor_copies_the_archive(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    """Replay sits below HttpCacheMiddleware (900), and keeps its answers out of the cache."""
    cache = tmp_path / "httpcache"
    cache_settings = {"HTTPCACHE_ENABLED": True, "HTTPCACHE_DIR": str(cache)}
    x, y = http_server.url("/x"), http_server.url("/y")
    http_server.routes["/x"] = (200, {"Content-Type": "text/html"}, b"<p>live</p>")
    live = run_spider(UrlListSpider, cache_settings, spider_kwargs={"urls": [x]})
    assert live.stats["httpcache/firsthand"] == 1  # /x is now in the cache

    def cache_entries() -> int:
        return sum(1 for path in cache.rglob("pickled_meta"))

    assert cache_entries() == 1
    root = write_archive(
        tmp_path / "archive",
        [(x, "x.html", 200, "text/html"), (y, "x.html", 200, "text/html")],
        {"x.html": b"<p>archived</p>"},
    )
    replayed = run_spider(
        UrlListSpider,
        {**replay_settings(root), **cache_settings},
        spider_kwargs={"urls": [x, y]},
        forbid_network=True,
    )
    for item in replayed.items:
        assert (body_of(item), item["flags"]) == (b"<p>archived</p>", ["replay"])
    assert cache_entries() == 1  # /y was not copied into the cache
    assert not any(key.startswith("httpcache/") for key in replayed.stats)


# --- speed ---------------------------------------------------------------------------------


def test_replay_ignores_download_delay_and_autothrottle(tmp_path: Path) -> None:
    urls = [f"{SINA}/news/{i}.shtml" for i in range(20)]
    root = write_archive(
        tmp_path / "archive",
        [(url, "page.html", 200, "text/html") for url in urls],
        {"page.html": b"<html>page</html>"},
    )
    result = run_spider(
        UrlListSpider,
        {
            **replay_settings(root),
            "DOWNLOAD_DELAY": 5,
            "AUTOTHROTTLE_ENABLED": True,
            "AUTOTHROTTLE_START_DELAY": 5,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
            "ROBOTSTXT_OBEY": True,
        },
        spider_kwargs={"urls": urls},
        forbid_network=True,
    )
    assert [item["status"] for item in result.items] == [200] * 20
    # Through the downloader's slot this would take 20 x 5 s; replay takes well under a second.
    assert result.stats["elapsed_time_seconds"] < 2.5
    assert result.network_attempts == []


def test_download_delay_is_in_force_for_a_live_crawl(http_server: LocalHTTPServer) -> None:
    """Control for the test above: the same kind of setting does slow a live crawl down."""
    for i in range(3):
        http_server.routes[f"/{i}"] = (200, {"Content-Type": "text/html"}, b"<html></html>")
    result = run_spider(
        UrlListSpider,
        {"DOWNLOAD_DELAY": 1, "DOWNLOAD_DELAY_JITTER": 0},
        spider_kwargs={"urls": [http_server.url(f"/{i}") for i in range(3)]},
    )
    assert len(result.items) == 3
    assert result.stats["elapsed_time_seconds"] >= 2.0


# --- configuration -------------------------------------------------------------------------


def test_middlewares_are_off_unless_their_setting_is_set() -> None:
    crawler = get_crawler()
    with pytest.raises(NotConfigured):
        ReplayDownloaderMiddleware.from_crawler(crawler)
    with pytest.raises(NotConfigured):
        RecordDownloaderMiddleware.from_crawler(crawler)


def test_replay_answers_head_without_a_body(tmp_path: Path) -> None:
    root = write_archive(
        tmp_path / "a", [(f"{SINA}/x", "x.html", 200, "text/html")], {"x.html": b"<p>x</p>"}
    )
    crawler = get_crawler(settings_dict={"NEWSSPIDER_REPLAY_DIR": str(root)})
    middleware = ReplayDownloaderMiddleware.from_crawler(crawler)
    head = middleware.process_request(Request(f"{SINA}/x", method="HEAD"))
    get = middleware.process_request(Request(f"{SINA}/x"))
    assert (head.status, head.body) == (200, b"")
    assert isinstance(get, HtmlResponse) and get.body == b"<p>x</p>"


@pytest.mark.parametrize(
    ("file", "message"),
    [("../outside.html", "would leave the replay directory"), ("nowhere.html", "missing")],
)
def test_a_broken_archive_stops_the_crawl_before_any_request(
    tmp_path: Path, file: str, message: str
) -> None:
    (tmp_path / "outside.html").write_bytes(b"outside")
    root = write_archive(tmp_path / "a", [(f"{SINA}/x", file, 200, "text/html")], {})
    result = run_spider(
        UrlListSpider,
        replay_settings(root),
        spider_kwargs={"urls": [f"{SINA}/x"]},
        forbid_network=True,
        check=False,
    )
    assert result.returncode != 0
    assert message in "\n".join(result.errors)
    assert result.items == []
    assert result.network_attempts == []


# --- recording -----------------------------------------------------------------------------


def serve_site(server: LocalHTTPServer) -> dict[str, str]:
    """A small site with every kind of answer the recorder has to keep; returns its URLs."""
    server.routes.update(
        {
            "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"),
            "/article": (200, {"Content-Type": "text/html; charset=gb2312"}, ARTICLE_BODY),
            "/img.jpg": (200, {"Content-Type": "image/jpeg"}, JPEG),
            "/gz": Route(
                headers={"Content-Type": "text/html; charset=utf-8"},
                body=b"<html>sent gzipped</html>",
                gzip=True,
            ),
            "/missing": (404, {"Content-Type": "text/plain"}, b"no such page"),
            "/empty": (200, {"Content-Type": "text/plain"}, b""),
            "/r1": redirect("/r2", status=301),
            "/r2": redirect(server.url("/landing?b=2&a=1"), status=302),
            "/landing": (200, {"Content-Type": "text/html"}, b"<html>landed</html>"),
        }
    )
    paths = ["/article", "/img.jpg", "/gz", "/missing", "/empty", "/r1", "/landing?a=1&b=2"]
    return {path: server.url(path) for path in paths}


def comparable(item: dict[str, Any]) -> dict[str, Any]:
    """What a spider sees, minus the flags that say where it came from."""
    return {k: v for k, v in item.items() if k != "flags"}


def test_record_then_replay_gives_identical_responses(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    urls = serve_site(http_server)
    archive = tmp_path / "rec"
    settings = {"ROBOTSTXT_OBEY": True, "RETRY_ENABLED": False}
    live = run_spider(
        UrlListSpider,
        {**settings, **record_settings(archive)},
        spider_kwargs={"urls": list(urls.values())},
    )
    assert len(list(live.responses())) == len(urls)
    assert live.stats["record/redirects"] == 2
    hits_after_live = sum(http_server.hits.values())

    replayed = run_spider(
        UrlListSpider,
        {**settings, **replay_settings(archive)},
        spider_kwargs={"urls": list(urls.values())},
        forbid_network=True,
    )
    assert replayed.network_attempts == []
    assert sum(http_server.hits.values()) == hits_after_live
    live_items = {url: comparable(item) for url, item in live.by_start_url().items()}
    replay_items = {url: comparable(item) for url, item in replayed.by_start_url().items()}
    assert replay_items == live_items
    assert all(item["flags"] == ["replay"] for item in replayed.items)
    # The replay hit the archive for every request, robots.txt included: no misses.
    assert "replay/misses" not in replayed.stats


def test_recorded_manifest_rows(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    urls = serve_site(http_server)
    archive = tmp_path / "rec"
    run_spider(
        UrlListSpider,
        {"ROBOTSTXT_OBEY": True, **record_settings(archive)},
        spider_kwargs={"urls": list(urls.values())},
    )
    rows = {row.url: row for row in parse_manifest((archive / MANIFEST_NAME).read_text("utf-8"))}
    assert rows[http_server.url("/r1")].status == 301
    assert rows[http_server.url("/r1")].location == http_server.url("/r2")
    assert rows[http_server.url("/r2")].location == http_server.url("/landing?b=2&a=1")
    assert rows[http_server.url("/missing")].status == 404
    assert rows[http_server.url("/empty")].file == ""
    assert rows[http_server.url("/robots.txt")].status == 200
    article = rows[http_server.url("/article")]
    assert article.content_type == "text/html; charset=gb2312"
    assert (archive / article.file).read_bytes() == ARTICLE_BODY
    assert article.file.startswith("pages/") and article.file.endswith(".html")
    assert rows[http_server.url("/img.jpg")].file.endswith(".jpg")
    # Every file the manifest names is inside the archive and loads.
    assert len(ReplayDir(archive)) == len(rows)


def test_gzip_encoded_response_is_recorded_unzipped(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    http_server.routes["/gz"] = Route(
        headers={"Content-Type": "text/html; charset=utf-8"},
        body=b"<html>sent gzipped</html>",
        gzip=True,
    )
    archive = tmp_path / "rec"
    live = run_spider(
        UrlListSpider, record_settings(archive), spider_kwargs={"urls": [http_server.url("/gz")]}
    )
    # It really went over the wire gzipped: Scrapy asked for it and had to decode it.
    assert "gzip" in http_server.requests[0].headers.get("Accept-Encoding", "")
    assert live.stats["httpcompression/response_count"] == 1
    row = parse_manifest((archive / MANIFEST_NAME).read_text("utf-8"))[0]
    assert (archive / row.file).read_bytes() == b"<html>sent gzipped</html>"
    assert row.content_type == "text/html; charset=utf-8"


def test_rerecording_adds_urls_and_replaces_rows_and_files(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    archive = tmp_path / "rec"
    http_server.routes["/a"] = (200, {"Content-Type": "text/html"}, b"<html>a v1</html>")
    http_server.routes["/b"] = (200, {"Content-Type": "text/html"}, b"<html>b</html>")
    urls = {path: http_server.url(path) for path in ("/a", "/b", "/c")}
    run_spider(
        UrlListSpider,
        record_settings(archive),
        spider_kwargs={"urls": [urls["/a"], urls["/b"]]},
    )
    first_rows = parse_manifest((archive / MANIFEST_NAME).read_text("utf-8"))
    first = {r.url: r for r in first_rows}
    assert set(first) == {urls["/a"], urls["/b"]}
    old_a_file = archive / first[urls["/a"]].file
    assert old_a_file.read_bytes() == b"<html>a v1</html>"

    http_server.routes["/a"] = (200, {"Content-Type": "text/plain"}, b"a v2")
    http_server.routes["/c"] = redirect("/b", status=308)
    run_spider(
        UrlListSpider,
        record_settings(archive),
        spider_kwargs={"urls": [urls["/a"], urls["/c"]]},
    )
    rows = parse_manifest((archive / MANIFEST_NAME).read_text("utf-8"))
    # Replaced rows keep their place (responses came in whatever order); new URLs go last.
    assert [row.url for row in rows] == [*(r.url for r in first_rows), urls["/c"]]
    by_url = {row.url: row for row in rows}
    assert by_url[urls["/a"]].content_type == "text/plain"
    assert (archive / by_url[urls["/a"]].file).read_bytes() == b"a v2"
    assert not old_a_file.exists()  # the .html of v1 went with its row
    assert (archive / by_url[urls["/b"]].file).read_bytes() == b"<html>b</html>"
    assert (by_url[urls["/c"]].status, by_url[urls["/c"]].location) == (308, urls["/b"])
    assert sorted(p.name for p in (archive / "pages").iterdir()) == sorted(
        Path(by_url[u].file).name for u in (urls["/a"], urls["/b"])
    )


def test_retried_response_is_recorded_as_finally_served(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    """A URL fetched again replaces its row, within one crawl too: the last answer counts."""
    http_server.routes["/flaky"] = [
        Route(status=503, body=b"busy"),
        Route(headers={"Content-Type": "text/html"}, body=b"<html>ok</html>"),
    ]
    archive = tmp_path / "rec"
    run_spider(
        UrlListSpider, record_settings(archive), spider_kwargs={"urls": [http_server.url("/flaky")]}
    )
    assert http_server.hits["/flaky"] == 2
    entry = ReplayDir(archive).lookup(http_server.url("/flaky"))
    assert entry is not None and (entry.status, entry.read_body()) == (200, b"<html>ok</html>")


# --- the test server itself ----------------------------------------------------------------


def fetch(server: LocalHTTPServer, path: str, method: str = "GET") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request(method, path)
    return conn.getresponse()


def test_server_routes_counts_and_sequences(http_server: LocalHTTPServer) -> None:
    http_server.routes["/t"] = (201, {"X-Test": "1"}, b"tuple")
    http_server.routes["/seq"] = [(500, {}, b"first"), (200, {}, b"then")]
    http_server.routes["/fn"] = lambda request: (200, {}, request.path.encode())
    http_server.routes["/q?exact=1"] = (200, {}, b"exact query")
    response = fetch(http_server, "/t?x=1")
    assert (response.status, response.getheader("X-Test"), response.read()) == (201, "1", b"tuple")
    assert [fetch(http_server, "/seq").read() for _ in range(3)] == [b"first", b"then", b"then"]
    assert fetch(http_server, "/fn?y=2").read() == b"/fn?y=2"
    assert fetch(http_server, "/q?exact=1").read() == b"exact query"
    assert fetch(http_server, "/q").status == 404
    assert fetch(http_server, "/t", method="HEAD").read() == b""
    assert http_server.hits["/t"] == 2 and http_server.hits["/seq"] == 3
    assert http_server.requests[0].path == "/t?x=1"


def test_server_gzip(http_server: LocalHTTPServer) -> None:
    http_server.routes["/gz"] = Route(body=b"zipped", gzip=True)
    response = fetch(http_server, "/gz")
    assert response.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(response.read()) == b"zipped"


def test_server_faults(http_server: LocalHTTPServer) -> None:
    http_server.routes["/reset"] = Route(fault=Fault.RESET)
    http_server.routes["/truncated"] = Route(body=b"x" * 100, fault=Fault.TRUNCATE)
    http_server.routes["/hang"] = Route(fault=Fault.HANG, hang_seconds=5)
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        fetch(http_server, "/reset").read()
    truncated = fetch(http_server, "/truncated")
    assert truncated.getheader("Content-Length") == "100"
    with pytest.raises(http.client.IncompleteRead):
        truncated.read()
    conn = http.client.HTTPConnection("127.0.0.1", http_server.port, timeout=0.3)
    conn.request("GET", "/hang")
    started = time.monotonic()
    with pytest.raises(socket.timeout):
        conn.getresponse()
    assert time.monotonic() - started < 2


def test_server_faults_as_scrapy_sees_them(http_server: LocalHTTPServer) -> None:
    """What other tests can expect from each fault when Scrapy downloads it."""
    http_server.routes.update(
        {
            "/500": (500, {}, b"boom"),
            "/reset": Route(fault=Fault.RESET),
            "/hang": Route(fault=Fault.HANG, hang_seconds=10),
            "/truncated": Route(body=b"x" * 1000, fault=Fault.TRUNCATE),
        }
    )
    result = run_spider(
        UrlListSpider,
        {"RETRY_ENABLED": False, "DOWNLOAD_TIMEOUT": 1},
        spider_kwargs={
            "urls": [http_server.url(p) for p in ("/500", "/reset", "/hang", "/truncated")]
        },
    )
    by_path = {item["start_url"].rsplit("/", 1)[1]: item for item in result.items}
    outcome = {path: item.get("error", item.get("status")) for path, item in by_path.items()}
    assert outcome["500"] == 500
    assert outcome["hang"] == "DownloadTimeoutError"
    assert outcome["reset"] == "DownloadFailedError"
    assert "ConnectionLost" in by_path["reset"]["message"]
    assert outcome["truncated"] == "ResponseDataLossError"


# --- Retry-After: junk from a server is no advice, never a crash (issue #14) -----------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20", 20.0),
        ("0", 0.0),
        ("²", None),  # str.isdigit() says yes; float() says no
        ("٣", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (b"\xb2", None),
        (b"\xff\xfe\x00", None),
        ("1" + "0" * 400, 365 * 24 * 3600.0),  # "not in this run", without huge arithmetic
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: retry now
        ("Fri, 31 Dec 9999 23:59:59 GMT", 365 * 24 * 3600.0),
        ("Wed, 21 Oct 99999 07:28:00 GMT", None),
        ("Mon, 32 Foo", None),
    ],
)
def test_retry_after_values(value: str | bytes, expected: float | None) -> None:
    from newsspider.crawl.retry import retry_after_seconds

    assert retry_after_seconds(value, now=1_700_000_000) == expected


def test_retry_after_junk_in_a_real_fetch(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    """503 with ``Retry-After: ²`` then 200: retried at once and archived; 503 with a
    400-digit Retry-After: not retried in this run, failed ``HTTP 503``; no traceback."""
    import subprocess

    from faultcrawl import FAST, env, loopback_args
    from rollreplay import synthetic_article

    good_url, _, _, page = synthetic_article(970, when=1672545600)
    far_url, _, _, _ = synthetic_article(971, when=1672545600)
    html = {"Content-Type": "text/html; charset=utf-8"}
    http_server.routes[good_url.split("sina.com.cn", 1)[1]] = [
        Route(status=503, headers={"Retry-After": "²"}),
        Route(body=page, headers=html),
    ]
    http_server.routes[far_url.split("sina.com.cn", 1)[1]] = Route(
        status=503, headers={"Retry-After": "1" + "0" * 400}
    )
    proc = subprocess.run(
        [sys.executable, "-m", "newsspider.cli", "fetch", good_url, far_url,
         "-o", str(tmp_path / "out"), *loopback_args(http_server), *FAST],
        capture_output=True, text=True, timeout=120, env=env(), check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"failed: {far_url}: HTTP 503" in proc.stderr
    assert "newsspider: archived 1, updated 0, unchanged 0, failed 1" in proc.stderr
    assert http_server.hits[good_url.split("sina.com.cn", 1)[1]] == 2
