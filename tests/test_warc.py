"""WARC recording and replay (``newsspider.archive.warc``), in real crawls and through the command
line.

The claims tested: a recorded WARC passes warcio's own checker and reads back with its
``ArchiveIterator``; a crawl replayed from it sees what the live crawl saw, without a network;
and a crawl recorded as WARC replays to an archive byte-identical to the one the replay
directory gives. Crawls run in subprocesses (crawlutil.py), as in test_middlewares.py.
"""

from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import GoldenCase, golden_cases, run_newsspider
from crawlutil import (
    CrawlResult,
    UrlListSpider,
    body_of,
    record_settings,
    replay_settings,
    run_spider,
)
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from server import LocalHTTPServer, Route, http_server_fixture, redirect  # noqa: F401
from warcio.archiveiterator import ArchiveIterator

from newsspider.archive.replay import ReplayDir
from newsspider.archive.warc import (
    WarcError,
    WarcFile,
    WarcReplaySource,
    is_warc_path,
    open_replay_source,
)
from newsspider.cli import UsageError, _settings, build_parser
from newsspider.crawl.addon import Newsspider
from newsspider.crawl.middlewares import (
    WARC_RECORD_MIDDLEWARE_ORDER,
    WarcRecordDownloaderMiddleware,
)

ARTICLE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    "</head><body><h1>新浪财经</h1></body></html>"
).encode("gb2312")
GZIPPED_PAGE = "<html><body>sent gzipped, 压缩</body></html>".encode()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 4


def warc_settings(path: Path) -> dict[str, Any]:
    """Settings that record into the WARC ``path``, with the middleware at its documented place."""
    return {
        "NEWSSPIDER_RECORD_WARC": str(path),
        "DOWNLOADER_MIDDLEWARES": {
            "newsspider.crawl.middlewares.WarcRecordDownloaderMiddleware": (
                WARC_RECORD_MIDDLEWARE_ORDER
            )
        },
    }


def merged(*settings: dict[str, Any]) -> dict[str, Any]:
    """Lay settings dicts over each other, DOWNLOADER_MIDDLEWARES merged rather than replaced."""
    out: dict[str, Any] = {}
    middlewares: dict[str, int] = {}
    for part in settings:
        middlewares.update(part.get("DOWNLOADER_MIDDLEWARES", {}))
        out.update(part)
    out["DOWNLOADER_MIDDLEWARES"] = middlewares
    return out


def records(path: Path) -> list[dict[str, Any]]:
    """Every record of a WARC, read with warcio, as plain data (payloads read whole)."""
    out = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            http = record.http_headers
            out.append(
                {
                    "type": record.rec_type,
                    "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "id": record.rec_headers.get_header("WARC-Record-ID"),
                    "concurrent_to": record.rec_headers.get_header("WARC-Concurrent-To"),
                    "ip": record.rec_headers.get_header("WARC-IP-Address"),
                    "status": int(http.get_statuscode()) if record.rec_type == "response" else None,
                    "statusline": (http.protocol + " " + http.statusline) if http else None,
                    "headers": dict(http.headers) if http else {},
                    "payload": record.raw_stream.read(),
                }
            )
    return out


def warcio_check(path: Path) -> subprocess.CompletedProcess[str]:
    """``warcio check -v``: warcio's own validator, through its command-line entry point."""
    return subprocess.run(
        [sys.executable, "-c", "from warcio.cli import main; main()", "check", "-v", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def comparable(item: dict[str, Any]) -> dict[str, Any]:
    """What a spider sees, minus the flags that say where it came from."""
    return {k: v for k, v in item.items() if k != "flags"}


# --- one live crawl recorded as WARC, shared by the tests below -----------------------------


SITE_PATHS = ["/article", "/img.jpg", "/gz", "/missing", "/r1", "/landing?a=1&b=2"]


@pytest.fixture(scope="module")
def live_site() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        server.routes.update(
            {
                "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"),
                "/article": (200, {"Content-Type": "text/html; charset=gb2312"}, ARTICLE),
                "/img.jpg": (200, {"Content-Type": "image/jpeg"}, JPEG),
                "/gz": Route(
                    headers={"Content-Type": "text/html; charset=utf-8", "X-Served": "gz"},
                    body=GZIPPED_PAGE,
                    gzip=True,
                ),
                "/missing": (404, {"Content-Type": "text/plain"}, b"no such page"),
                "/r1": redirect("/r2", status=301),
                "/r2": redirect(server.url("/landing?b=2&a=1"), status=302),
                "/landing": (200, {"Content-Type": "text/html"}, b"<html>landed</html>"),
            }
        )
        yield server


@pytest.fixture(scope="module")
def recorded(
    live_site: LocalHTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CrawlResult, Path]:
    warc = tmp_path_factory.mktemp("warc") / "crawl.warc.gz"
    live = run_spider(
        UrlListSpider,
        {"ROBOTSTXT_OBEY": True, "RETRY_ENABLED": False, **warc_settings(warc)},
        spider_kwargs={"urls": [live_site.url(p) for p in SITE_PATHS]},
    )
    return live, warc


def test_recorded_warc_passes_warcio_check(recorded: tuple[CrawlResult, Path]) -> None:
    _, warc = recorded
    check = warcio_check(warc)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout
    assert "fail" not in check.stdout.lower()


def test_recorded_warc_reads_back_with_archive_iterator(
    recorded: tuple[CrawlResult, Path], live_site: LocalHTTPServer
) -> None:
    live, warc = recorded
    recs = records(warc)
    assert recs[0]["type"] == "warcinfo"
    assert b"software: newsspider/" in recs[0]["payload"]
    assert b"robots: obey" in recs[0]["payload"]
    responses = {r["uri"]: r for r in recs if r["type"] == "response"}
    requests = {r["uri"]: r for r in recs if r["type"] == "request"}
    url = live_site.url
    # Every response, with its request: pages, image, 404, both redirects, robots.txt.
    expected = {url(p) for p in ("/article", "/img.jpg", "/gz", "/missing", "/r1", "/r2")}
    expected |= {url("/landing?b=2&a=1"), url("/landing?a=1&b=2"), url("/robots.txt")}
    assert set(responses) == set(requests) == expected
    assert live.stats["warc/responses"] == len(expected)
    for uri, response in responses.items():
        assert requests[uri]["concurrent_to"] == response["id"]
        assert response["ip"] == "127.0.0.1"
        assert response["statusline"].startswith("HTTP/1.1 ")
    assert responses[url("/article")]["payload"] == ARTICLE
    assert responses[url("/article")]["headers"]["Content-Type"] == "text/html; charset=gb2312"
    assert responses[url("/img.jpg")]["payload"] == JPEG
    assert responses[url("/missing")]["status"] == 404
    r1, r2 = responses[url("/r1")], responses[url("/r2")]
    assert (r1["status"], r1["headers"]["Location"]) == (301, "/r2")
    assert (r2["status"], r2["headers"]["Location"]) == (302, url("/landing?b=2&a=1"))
    request = requests[url("/article")]
    assert request["statusline"] == "GET /article HTTP/1.1"
    assert request["headers"]["Host"] == f"127.0.0.1:{live_site.port}"
    assert "gzip" in request["headers"]["Accept-Encoding"]
    assert request["headers"]["User-Agent"] == live_site.requests[0].headers["User-Agent"]


def test_gzip_answer_is_recorded_as_transferred(
    recorded: tuple[CrawlResult, Path], live_site: LocalHTTPServer
) -> None:
    """The payload keeps its Content-Encoding, and the header block says so: self-consistent."""
    live, warc = recorded
    assert live.stats["httpcompression/response_count"] == 1  # it really came gzipped
    with open(warc, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_headers.get_header("WARC-Target-URI") == live_site.url("/gz") and (
                record.rec_type == "response"
            ):
                headers = record.http_headers
                assert headers.get_header("Content-Encoding") == "gzip"
                assert headers.get_header("X-Served") == "gz"
                decoded = record.content_stream().read()  # warcio undoes the encoding itself
                break
        else:
            pytest.fail("no response record for /gz")
    payload = next(r for r in records(warc) if r["uri"] == live_site.url("/gz") and r["status"])
    assert gzip.decompress(payload["payload"]) == decoded == GZIPPED_PAGE
    assert payload["headers"]["Content-Length"] == str(len(payload["payload"]))


def test_replay_from_warc_gives_the_live_responses_offline(
    recorded: tuple[CrawlResult, Path], live_site: LocalHTTPServer
) -> None:
    live, warc = recorded
    hits_before = sum(live_site.hits.values())
    replayed = run_spider(
        UrlListSpider,
        {"ROBOTSTXT_OBEY": True, "RETRY_ENABLED": False, **replay_settings(warc)},
        spider_kwargs={"urls": [live_site.url(p) for p in SITE_PATHS]},
        forbid_network=True,
    )
    assert replayed.network_attempts == []
    assert sum(live_site.hits.values()) == hits_before
    live_items = {url: comparable(item) for url, item in live.by_start_url().items()}
    replay_items = {url: comparable(item) for url, item in replayed.by_start_url().items()}
    assert replay_items == live_items
    assert all(item["flags"] == ["replay"] for item in replayed.items)
    assert "replay/misses" not in replayed.stats  # robots.txt came from the WARC too
    assert replayed.stats["replay/redirects"] == 2
    # The gzip payload was decoded on replay exactly as on the live crawl.
    assert replayed.stats["httpcompression/response_count"] == 1
    gz = replayed.by_start_url()[live_site.url("/gz")]
    assert (body_of(gz), gz["content_encoding"]) == (GZIPPED_PAGE, None)


def test_a_url_missing_from_the_warc_is_404(recorded: tuple[CrawlResult, Path]) -> None:
    _, warc = recorded
    result = run_spider(
        UrlListSpider,
        replay_settings(warc),
        spider_kwargs={"urls": ["https://finance.sina.com.cn/not-recorded"]},
        forbid_network=True,
    )
    item = result.items[0]
    assert (item["status"], body_of(item), item["flags"]) == (404, b"", ["replay"])
    assert result.network_attempts == []


# --- the archive property, through the command line -----------------------------------------


def golden_replay_dir(root: Path, cases: list[GoldenCase]) -> Path:
    """One replay directory holding every golden case's page."""
    lines = ["url\tfile\tstatus\tcontent_type"]
    for case in cases:
        (root / case.name).mkdir(parents=True)
        (root / case.name / "article.html").write_bytes((case.dir / "article.html").read_bytes())
        lines.append(f"{case.url}\t{case.name}/article.html\t200\ttext/html; charset=utf-8")
    (root / "MANIFEST.tsv").write_text("\n".join(lines) + "\n", "utf-8")
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_warc_replay_gives_the_same_archive_as_the_replay_directory(tmp_path: Path) -> None:
    """The issue's property: recorded as WARC, replayed from it, byte-identical posts."""
    cases = golden_cases()
    assert {c.channel for c in cases} == {"china"}
    directory = golden_replay_dir(tmp_path / "replay", cases)
    warc = tmp_path / "golden.warc.gz"
    urls = [c.url for c in cases]
    common = ("--images", "remote", "--channel", "china")
    first = run_newsspider("fetch", *urls, "--replay", str(directory), "--record-warc", str(warc),
                           *common, "--output", str(tmp_path / "A"))  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert warcio_check(warc).returncode == 0
    second = run_newsspider("fetch", *urls, "--replay", str(warc),
                            *common, "--output", str(tmp_path / "B"))  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert f"archived {len(cases)}" in second.stderr.splitlines()[-1]
    posts_a, posts_b = tree(tmp_path / "A" / "_posts"), tree(tmp_path / "B" / "_posts")
    assert posts_a == posts_b
    assert len(posts_b) == len(cases)
    for case in cases:
        assert (tmp_path / "B" / case.expected_path).read_bytes() == case.expected, case.name


def test_record_warc_and_record_dir_together_from_the_command_line(tmp_path: Path) -> None:
    case = golden_cases()[0]
    directory = golden_replay_dir(tmp_path / "replay", [case])
    warc, rec = tmp_path / "both.warc.gz", tmp_path / "rec"
    run = run_newsspider("fetch", case.url, "--replay", str(directory), "--record", str(rec),
                         "--record-warc", str(warc), "--images", "remote",
                         "--output", str(tmp_path / "A"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    from_dir = ReplayDir(rec).lookup(case.url)
    from_warc = WarcReplaySource(warc).lookup(case.url)
    assert from_dir is not None and from_warc is not None
    assert from_warc.read_body() == from_dir.read_body() == (case.dir / "article.html").read_bytes()
    assert (tmp_path / "A" / case.expected_path).read_bytes() == case.expected


def test_record_warc_and_record_dir_in_one_live_crawl(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    """Both recorders on one live crawl; each replays to the responses the crawl saw."""
    http_server.routes.update(
        {
            "/a": Route(headers={"Content-Type": "text/html"}, body=b"<p>a</p>", gzip=True),
            "/img.jpg": (200, {"Content-Type": "image/jpeg"}, JPEG),
            "/moved": redirect("/a", status=301),
        }
    )
    urls = [http_server.url(p) for p in ("/a", "/img.jpg", "/moved")]
    warc, rec = tmp_path / "live.warc.gz", tmp_path / "rec"
    live = run_spider(
        UrlListSpider,
        merged(record_settings(rec), warc_settings(warc)),
        spider_kwargs={"urls": urls},
    )
    assert live.stats["record/responses"] == 3 and live.stats["record/redirects"] == 1
    assert live.stats["warc/responses"] == 4
    live_items = {url: comparable(item) for url, item in live.by_start_url().items()}
    for archive in (rec, warc):
        replayed = run_spider(
            UrlListSpider,
            replay_settings(archive),
            spider_kwargs={"urls": urls},
            forbid_network=True,
        )
        assert replayed.network_attempts == []
        assert {u: comparable(i) for u, i in replayed.by_start_url().items()} == live_items


def test_retried_response_replays_as_finally_served(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    """A WARC keeps the 503 and the 200 after it; the last record counts, as a directory's row."""
    http_server.routes["/flaky"] = [
        Route(status=503, body=b"busy"),
        Route(headers={"Content-Type": "text/html"}, body=b"<html>ok</html>"),
    ]
    warc = tmp_path / "retry.warc.gz"
    run_spider(
        UrlListSpider, warc_settings(warc), spider_kwargs={"urls": [http_server.url("/flaky")]}
    )
    statuses = [r["status"] for r in records(warc) if r["type"] == "response"]
    assert statuses == [503, 200]
    entry = WarcReplaySource(warc).lookup(http_server.url("/flaky"))
    assert entry is not None and (entry.status, entry.read_body()) == (200, b"<html>ok</html>")


# --- the format side, without Scrapy --------------------------------------------------------


def test_framing_headers_are_made_true_of_the_kept_body(tmp_path: Path) -> None:
    """Scrapy hands over de-chunked bodies: Transfer-Encoding goes, Content-Length is the truth."""
    warc = tmp_path / "t.warc.gz"
    body = gzip.compress(b"hello")
    with WarcFile(warc) as out:
        out.write_exchange(
            "http://example.com/c",
            status=200,
            response_headers=[
                (b"Content-Type", b"text/html"),
                (b"Content-Encoding", b"gzip"),
                (b"Transfer-Encoding", b"chunked"),
                (b"Set-Cookie", b"a=1"),
                (b"Set-Cookie", b"b=2"),
                (b"X-Latin1", "café".encode("latin-1")),
                (b"X-Utf8", "新浪".encode()),
            ],
            body=body,
        )
        out.write_exchange(
            "http://example.com/h",
            method="HEAD",
            status=200,
            response_headers=[(b"Content-Length", b"1234")],
        )
    assert warcio_check(warc).returncode == 0
    recs = {(r["type"], r["uri"]): r for r in records(warc)}
    chunked = recs[("response", "http://example.com/c")]
    assert "Transfer-Encoding" not in chunked["headers"]
    assert chunked["headers"]["Content-Length"] == str(len(body))
    assert chunked["payload"] == body
    assert recs[("response", "http://example.com/h")]["headers"]["Content-Length"] == "1234"
    source = WarcReplaySource(warc)
    entry = source.lookup("http://example.com/c")
    assert entry is not None
    assert entry.headers[b"Set-Cookie"] == [b"a=1", b"b=2"]
    # Header bytes come back as received, whatever their encoding.
    assert entry.headers[b"X-Latin1"] == ["café".encode("latin-1")]
    assert entry.headers[b"X-Utf8"] == ["新浪".encode()]
    assert entry.read_body() == body
    assert "http://example.com/h" not in source  # a HEAD answer has no body to replay


def test_lookup_is_canonical_and_redirects_keep_their_location(tmp_path: Path) -> None:
    warc = tmp_path / "t.warc"
    with WarcFile(warc) as out:
        out.write_exchange("http://example.com/s?b=2&a=1", status=200, body=b"found")
        out.write_exchange(
            "http://example.com/old", status=308, response_headers=[(b"Location", b"/new")]
        )
    assert not warc.read_bytes().startswith(b"\x1f\x8b")  # .warc: uncompressed
    source = open_replay_source(warc)
    assert isinstance(source, WarcReplaySource)
    found = source.lookup("http://example.com/s?a=1&b=2")
    assert found is not None and found.read_body() == b"found"
    moved = source.lookup("http://example.com/old")
    assert moved is not None and (moved.status, moved.location) == (308, "/new")
    assert source.lookup("http://example.com/other") is None


def test_recording_into_an_existing_warc_appends(tmp_path: Path) -> None:
    warc = tmp_path / "a.warc.gz"
    with WarcFile(warc) as out:
        out.write_exchange("http://example.com/x", status=200, body=b"v1")
        out.write_exchange("http://example.com/y", status=200, body=b"y")
    with WarcFile(warc) as out:
        out.write_exchange("http://example.com/x", status=200, body=b"v2")
    assert [r["type"] for r in records(warc)].count("warcinfo") == 2
    assert warcio_check(warc).returncode == 0
    source = WarcReplaySource(warc)
    assert [source.lookup(f"http://example.com/{p}").read_body() for p in "xy"] == [b"v2", b"y"]  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["c.warc.gz", "c.warc"])
def test_a_crash_mid_write_leaves_a_readable_warc(tmp_path: Path, name: str) -> None:
    """Cut the file anywhere in its last record: what came before still reads and replays, and
    recording into it again cuts the torn record off first, so the result passes the checker."""
    warc = tmp_path / name
    with WarcFile(warc) as out:
        out.write_exchange("http://example.com/kept", status=200, body=b"kept")
        out.write_exchange("http://example.com/torn", status=200, body=b"t" * 5000)
    whole = warc.read_bytes()
    last = next(r for r in reversed(records(warc)) if r["type"] == "response")
    assert last["uri"] == "http://example.com/torn"
    for cut in range(len(whole) - 1, len(whole) - 400, -23):
        warc.write_bytes(whole[:cut])
        source = WarcReplaySource(warc)
        kept = source.lookup("http://example.com/kept")
        assert kept is not None and kept.read_body() == b"kept", cut
        torn = source.lookup("http://example.com/torn")
        assert torn is None or torn.read_body() == b"t" * 5000, cut
        with WarcFile(warc) as out:
            out.write_exchange("http://example.com/after", status=200, body=b"after")
        assert warcio_check(warc).returncode == 0, cut
        after = WarcReplaySource(warc)
        assert after.problem is None, cut
        assert after.lookup("http://example.com/after").read_body() == b"after"  # type: ignore[union-attr]


def test_torn_tail_is_reported_when_replaying(tmp_path: Path) -> None:
    warc = tmp_path / "t.warc.gz"
    with WarcFile(warc) as out:
        out.write_exchange("http://example.com/kept", status=200, body=b"kept")
    with open(warc, "ab") as fh:
        fh.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + b"x" * 500)[:60])
    source = WarcReplaySource(warc)
    assert source.problem is not None
    assert source.lookup("http://example.com/kept") is not None


def test_what_is_not_a_warc_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.warc.gz"
    page.write_bytes(gzip.compress(b"<html>not a warc</html>"))
    with pytest.raises(WarcError, match="not a readable WARC"):
        WarcReplaySource(page)
    with pytest.raises(WarcError, match="not a WARC file"):
        WarcFile(page)
    assert page.read_bytes() == gzip.compress(b"<html>not a warc</html>")  # left alone
    with pytest.raises(WarcError, match="does not exist"):
        WarcReplaySource(tmp_path / "missing.warc.gz")
    plain = tmp_path / "plain.warc"
    WarcFile(plain).close()
    with pytest.raises(WarcError, match="uncompressed"):
        WarcFile(plain, gzip=True)


def test_replay_source_is_chosen_by_name(tmp_path: Path) -> None:
    assert is_warc_path("x.warc") and is_warc_path("X.WARC.GZ") and not is_warc_path("x.gz")
    directory = tmp_path / "dir"
    directory.mkdir()
    (directory / "MANIFEST.tsv").write_text("url\tfile\tstatus\tcontent_type\n", "utf-8")
    assert isinstance(open_replay_source(directory), ReplayDir)


# --- configuration --------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["fetch", "https://finance.sina.com.cn/x", *argv])


def test_cli_maps_record_warc_and_accepts_a_warc_for_replay(tmp_path: Path) -> None:
    warc = tmp_path / "in.warc.gz"
    with WarcFile(warc):
        pass
    settings = _settings(parse("--replay", str(warc), "--record-warc", str(tmp_path / "o.warc.gz")))
    assert settings.get("NEWSSPIDER_REPLAY_DIR") == str(warc)
    assert settings.get("NEWSSPIDER_RECORD_WARC") == str(tmp_path / "o.warc.gz")
    Newsspider(crawler=None).update_settings(settings)  # type: ignore[arg-type]  # as Scrapy does
    order = settings.getdict("DOWNLOADER_MIDDLEWARES")[
        "newsspider.crawl.middlewares.WarcRecordDownloaderMiddleware"
    ]
    assert order == WARC_RECORD_MIDDLEWARE_ORDER


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--replay", "{tmp}/page.html"), "neither a .warc/.warc.gz file nor a directory"),
        (("--replay", "{tmp}/in.warc.gz", "--record-warc", "{tmp}/in.warc.gz"), "being replayed"),
        (("--record-warc", "{tmp}"), "is a directory"),
    ],
)
def test_cli_refuses_bad_warc_options(tmp_path: Path, argv: tuple[str, ...], message: str) -> None:
    (tmp_path / "page.html").write_bytes(b"<html></html>")
    with WarcFile(tmp_path / "in.warc.gz"):
        pass
    with pytest.raises(UsageError, match=message):
        _settings(parse(*(a.format(tmp=tmp_path) for a in argv)))


def test_cli_exit_status_for_a_bad_replay_file(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_bytes(b"<html></html>")
    run = run_newsspider("fetch", "https://finance.sina.com.cn/x", "--replay",
                         str(tmp_path / "page.html"))  # fmt: skip
    assert run.returncode == 2
    assert "neither a .warc/.warc.gz file" in run.stderr


def test_warc_middleware_is_off_unless_its_setting_is_set() -> None:
    with pytest.raises(NotConfigured):
        WarcRecordDownloaderMiddleware.from_crawler(get_crawler())


def test_warcinfo_comes_first_and_names_the_software(tmp_path: Path) -> None:
    warc = tmp_path / "info.warc.gz"
    crawler = get_crawler(settings_dict={"NEWSSPIDER_RECORD_WARC": str(warc), "USER_AGENT": "ua/1"})
    middleware = WarcRecordDownloaderMiddleware.from_crawler(crawler)
    middleware.warc.close()
    (info,) = records(warc)
    assert info["type"] == "warcinfo"
    fields = dict(
        line.split(": ", 1) for line in io.BytesIO(info["payload"]).read().decode().splitlines()
    )
    assert fields["http-header-user-agent"] == "ua/1"
    assert fields["format"] == "WARC File Format 1.1"
    assert fields["software"].startswith("newsspider/")


# --- damaged WARCs refused before the crawl, one line, exit 2 (issue #14) ---------------------


def _three_exchanges(path: Path) -> list[int]:
    """A .warc.gz of three request/response pairs; the offsets of its records."""
    with WarcFile(path) as warc:
        for n in range(3):
            warc.write_exchange(f"https://finance.sina.com.cn/x/{n}.shtml", status=200,
                                response_headers=[(b"Content-Type", b"text/html")],
                                body=ARTICLE * 50)  # fmt: skip
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        offsets = []
        for record in iterator:
            offsets.append(iterator.offset)
            iterator.read_to_end(record)
    return offsets


def test_a_damaged_record_with_records_after_it_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    offsets = _three_exchanges(path)
    data = bytearray(path.read_bytes())
    middle = offsets[3]  # the second exchange's response
    for i in range(middle + 40, middle + 60):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WarcError, match="records follow it"):
        WarcReplaySource(path)


def test_a_torn_last_record_still_replays(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    _three_exchanges(path)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size - 30)
    source = WarcReplaySource(path)
    assert source.problem and "https://finance.sina.com.cn/x/0.shtml" in source


@pytest.mark.parametrize("damage", ["random bytes", "damaged in the middle", "empty file"])
def test_the_command_refuses_a_damaged_warc_with_one_line_exit_2(
    tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "crawl.warc.gz"
    if damage == "random bytes":
        path.write_bytes(bytes((i * 131 + 7) % 256 for i in range(5000)))
    elif damage == "empty file":
        path.write_bytes(b"")
    else:
        offsets = _three_exchanges(path)
        data = bytearray(path.read_bytes())
        for i in range(offsets[3] + 40, offsets[3] + 60):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    out = tmp_path / "out"
    run = run_newsspider("crawl", "--replay", str(path), "-o", str(out))
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("newsspider: error: --replay: "), run.stderr
    assert run.stderr.strip().count("\n") == 0 and "Traceback" not in run.stderr
    line = run.stderr.rstrip("\n")
    assert len(line) < 400 and line.isprintable(), line  # what the damaged file holds, escaped
    assert not (out / "_posts").exists()
