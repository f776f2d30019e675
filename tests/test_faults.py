"""Crawls that survive faults: kill -9 at chosen and random points, failing and recovering
servers, Retry-After, a simulated redesign, the politeness defaults — against the loopback
server (:mod:`faultcrawl`), through the real command.

"Survives" is checked the strict way: after the recovery run the archive is byte-identical to
the archive of a crawl that was never interrupted, with no temporary file left and no
duplicate, and ``index check`` finds nothing wrong.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from faultcrawl import (
    HTML,
    Site,
    cli,
    command,
    path_of,
    post_count,
    run,
    snapshot,
    start,
    temp_files,
)
from rollreplay import ReplayBuilder, roll_body, roll_item, synthetic_article
from server import Fault, LocalHTTPServer, Route

from newsspider.archive.runstate import RunState

N_ARTICLES = 12
PER_PAGE = 4


def rows(out: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(out / ".newsspider" / "index.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        return [
            dict(r)
            for r in db.execute(
                "SELECT key, url, status, reason, attempts, path FROM articles ORDER BY key"
            )
        ]
    finally:
        db.close()


def assert_complete(out: Path, reference: dict[str, bytes], server: LocalHTTPServer) -> None:
    """Same files, same bytes as the uninterrupted crawl; no temp file; one row per article."""
    got = snapshot(out)
    assert sorted(got) == sorted(reference)
    assert all(got[k] == reference[k] for k in reference), [
        k for k in reference if got[k] != reference[k]
    ]
    assert temp_files(out) == []
    index = rows(out)
    assert len({r["url"] for r in index}) == len(index) == N_ARTICLES
    assert all(r["status"] == "archived" for r in index), index
    check = run(cli("index", "check", "-o", str(out)))
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The archive of one uninterrupted crawl of the site (local images)."""
    out = tmp_path_factory.mktemp("reference") / "out"
    with LocalHTTPServer() as server:
        Site(server, N_ARTICLES, per_page=PER_PAGE)
        done = run(command(server, "crawl", out))
    assert done.returncode == 0, done.stderr[-3000:]
    files = snapshot(out)
    assert sum(k.endswith(".md") for k in files) == N_ARTICLES and len(files) > N_ARTICLES
    return files


# --- kill -9 ---


@pytest.mark.parametrize("crash", ["post:1", "post:6", "tmpwrite:2", "tmpwrite:9"])
def test_killed_at_a_crash_point_then_completed_by_the_next_run(
    crash: str, tmp_path: Path, http_server: LocalHTTPServer, reference: dict[str, bytes]
) -> None:
    Site(http_server, N_ARTICLES, per_page=PER_PAGE)
    out = tmp_path / "out"
    killed = run(command(http_server, "crawl", out), NEWSSPIDER_TEST_CRASH=crash)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert post_count(out) < N_ARTICLES
    if crash.startswith("tmpwrite"):
        assert temp_files(out), "the crash point should leave a temp file behind"
    assert RunState(out).load()["status"] == "running"  # known as unfinished at the next start

    again = run(command(http_server, "crawl", out))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "did not finish" in again.stderr
    assert_complete(out, reference, http_server)
    assert RunState(out).load()["status"] == "complete"


def test_killed_from_outside_while_the_server_is_slow(
    tmp_path: Path, http_server: LocalHTTPServer, reference: dict[str, bytes]
) -> None:
    site = Site(http_server, N_ARTICLES, per_page=PER_PAGE)
    for url, _, html in site.articles:
        http_server.routes[path_of(url)] = Route(
            body=html, headers={"Content-Type": HTML}, delay=0.15
        )
    out = tmp_path / "out"
    rng = random.Random(6)
    for attempt in range(2):  # two kills at random moments, then a run to the end
        want = rng.randint(1 + attempt * 3, 3 + attempt * 3)
        proc = start(command(http_server, "crawl", out), tmp_path / f"kill{attempt}.log")
        deadline = time.monotonic() + 30
        while post_count(out) < want and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.1)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    done = run(command(http_server, "crawl", out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert_complete(out, reference, http_server)


def test_crash_after_the_first_page_does_not_end_at_the_incremental_stop(
    tmp_path: Path, http_server: LocalHTTPServer, reference: dict[str, bytes]
) -> None:
    """The dangerous case: the killed run archived page 1 only; page 1 is now all archived,
    which alone would stop the next run there. Its floor keeps it going."""
    site = Site(http_server, N_ARTICLES, per_page=PER_PAGE)
    slow = {path_of(u): (u, h) for u, _, h in site.articles[PER_PAGE:]}
    for path, (_, html) in slow.items():
        http_server.routes[path] = Route(body=html, headers={"Content-Type": HTML}, delay=3)
    out = tmp_path / "out"
    killed = run(command(http_server, "crawl", out), NEWSSPIDER_TEST_CRASH=f"post:{PER_PAGE}")
    assert killed.returncode == -signal.SIGKILL
    assert post_count(out) == PER_PAGE
    for path, (_, html) in slow.items():
        http_server.routes[path] = Route(body=html, headers={"Content-Type": HTML})

    summary = tmp_path / "s.json"
    again = run(command(http_server, "crawl", out, "--summary-json", str(summary)))
    assert again.returncode == 0, again.stderr[-3000:]
    data = json.loads(summary.read_text("utf-8"))
    assert data["counts"]["archived"] == N_ARTICLES - PER_PAGE
    assert_complete(out, reference, http_server)
    assert RunState(out).load()["floors"] == {}

    # and the run after that is incremental again: one page, nothing requested
    third = run(command(http_server, "crawl", out, "--summary-json", str(summary)))
    data = json.loads(summary.read_text("utf-8"))
    assert third.returncode == 0 and data["counts"]["pages"] == 1
    assert data["counts"]["requested"] == 0


def test_jobdir_pauses_on_sigint_and_resumes(
    tmp_path: Path, http_server: LocalHTTPServer, reference: dict[str, bytes]
) -> None:
    site = Site(http_server, N_ARTICLES, per_page=PER_PAGE)
    for url, _, html in site.articles[3:]:
        http_server.routes[path_of(url)] = Route(body=html, headers={"Content-Type": HTML}, delay=1)
    out, jobdir = tmp_path / "out", tmp_path / "job"
    argv = command(
        http_server, "crawl", out, "--jobdir", str(jobdir), "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"
    )
    proc = start(argv, tmp_path / "paused.log")
    deadline = time.monotonic() + 30
    while post_count(out) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) in (0, 1)
    log = (tmp_path / "paused.log").read_text("utf-8", "replace")
    assert "stopped before the end" in log and "Unable to serialize" not in log
    assert 3 <= post_count(out) < N_ARTICLES
    assert (jobdir / "requests.queue").is_dir() and temp_files(out) == []

    for url, _, html in site.articles:
        http_server.routes[path_of(url)] = Route(body=html, headers={"Content-Type": HTML})
    http_server.reset_counts()
    done = run(argv)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_complete(out, reference, http_server)
    fetched = [p for p in http_server.hits if p.endswith(".shtml")]
    assert all(http_server.hits[p] == 1 for p in fetched)  # nothing fetched twice on resume
    assert not (jobdir / "requests.queue").exists()  # a finished job starts the next afresh


def test_sina_requests_survive_the_jobdir_disk_queue() -> None:
    """JOBDIR pickles queued requests: callbacks must be spider methods, meta plain data."""
    from scrapy.utils.request import request_from_dict
    from scrapy.utils.test import get_crawler

    from newsspider.archive.channels import load_channels
    from newsspider.crawl.spiders.sina import SinaSpider

    crawler = get_crawler(SinaSpider)
    spider = SinaSpider.from_crawler(crawler, channel="china")
    spider.channels = [load_channels()["china"]]
    requests = [
        spider.roll_request(0, 2),
        spider.article_request(
            "https://finance.sina.com.cn/a/doc-ix.shtml",
            "china",
            roll_ctime=1,
            roll_mtime=2,
            roll_title="t",
            known_key=None,
            article_key="x",
            doc_id="x",
        ),
    ]
    for request in requests:
        data = pickle.loads(pickle.dumps(request.to_dict(spider=spider), protocol=4))
        back = request_from_dict(data, spider=spider)
        assert back.callback == request.callback and back.errback == request.errback
        assert back.meta == request.meta
        json.dumps(back.meta)


# --- failing servers ---


def _retry_after_route(times: list[float], html: bytes) -> Any:
    def answer(_: Any) -> Route:
        times.append(time.monotonic())
        if len(times) == 1:
            return Route(status=429, headers={"Retry-After": "1"}, body=b"slow down")
        return Route(body=html, headers={"Content-Type": HTML})

    return answer


def test_faults_that_clear_are_retried_and_everything_is_archived(
    tmp_path: Path, http_server: LocalHTTPServer, reference: dict[str, bytes]
) -> None:
    site = Site(http_server, N_ARTICLES, per_page=PER_PAGE)
    faults = [
        Route(status=500),
        Route(status=503),
        Route(fault=Fault.RESET),
        Route(fault=Fault.HANG, hang_seconds=3),
        Route(fault=Fault.TRUNCATE),
    ]
    flaky = {}
    for (url, _, html), fault in zip(site.articles, faults, strict=False):
        if fault.fault is Fault.TRUNCATE:
            fault = Route(body=html, headers={"Content-Type": HTML}, fault=Fault.TRUNCATE)
        http_server.routes[path_of(url)] = [fault, Route(body=html, headers={"Content-Type": HTML})]
        flaky[path_of(url)] = fault
    times: list[float] = []
    url, _, html = site.articles[len(faults)]
    http_server.routes[path_of(url)] = _retry_after_route(times, html)

    out = tmp_path / "out"
    done = run(command(http_server, "crawl", out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert_complete(out, reference, http_server)
    for path in flaky:
        assert http_server.hits[path] == 2, path
    assert len(times) == 2 and times[1] - times[0] >= 0.9  # Retry-After honoured


def test_faults_that_persist_are_recorded_listed_and_archived_later(
    tmp_path: Path, http_server: LocalHTTPServer, reference: dict[str, bytes]
) -> None:
    site = Site(http_server, N_ARTICLES, per_page=PER_PAGE)
    broken = {
        site.articles[0][0]: (Route(status=500), "HTTP 500"),
        site.articles[1][0]: (Route(fault=Fault.RESET), "reset"),
        site.articles[2][0]: (Route(fault=Fault.HANG, hang_seconds=3), "timed out"),
        site.articles[3][0]: (
            Route(
                body=b"<html>" + b"x" * 5000, fault=Fault.TRUNCATE, headers={"Content-Type": HTML}
            ),
            "truncated",
        ),
        site.articles[5][0]: (Route(status=429, headers={"Retry-After": "3600"}), "HTTP 429"),
    }
    for url, (route, _) in broken.items():
        http_server.routes[path_of(url)] = route
    out = tmp_path / "out"
    done = run(command(http_server, "crawl", out))
    assert done.returncode == 1
    for url in broken:
        assert url in done.stderr
    assert http_server.hits[path_of(site.articles[0][0])] == 3  # 1 + RETRY_TIMES=2
    assert http_server.hits[path_of(site.articles[5][0])] == 1  # Retry-After beyond the cap

    listing = run(cli("index", "failed", "-o", str(out)))
    assert listing.returncode == 1
    lines = {line.split("\t")[0]: line for line in listing.stdout.splitlines()}
    assert set(lines) == set(broken)
    for url, (_, reason) in broken.items():
        assert reason in lines[url] and "attempts 1" in lines[url], lines[url]
    assert "after 2 retries" in lines[site.articles[0][0]]

    # still broken a second time: attempts count up
    again = run(command(http_server, "crawl", out))
    assert again.returncode == 1
    failed = {r["url"]: r for r in rows(out) if r["status"] == "failed"}
    assert set(failed) == set(broken) and all(r["attempts"] == 2 for r in failed.values())

    # the server recovers, and the feed no longer lists them: they are retried anyway
    for url, _, html in site.articles:
        http_server.routes[path_of(url)] = Route(body=html, headers={"Content-Type": HTML})
    site.listed = set(site.urls) - set(broken)
    done = run(command(http_server, "crawl", out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert_complete(out, reference, http_server)
    listing = run(cli("index", "failed", "-o", str(out)))
    assert listing.returncode == 0 and listing.stdout == ""


# --- health: a redesign ---


def _redesign_replay(directory: Path, redesigned: int, video_only: int, total: int) -> Path:
    b = ReplayBuilder(directory)
    items = []
    for n in range(total):
        url, _, title, html = synthetic_article(n, when=1672545600 - n * 60)
        if n < redesigned:
            html = html.replace(b'id="artibody"', b'id="article-content-2027"')
        elif n < redesigned + video_only:
            start_at = html.index(b'<div class="article" id="artibody"')
            end_at = html.index("<!-- 原始正文end -->".encode())
            html = (
                html[:start_at]
                + (
                    b'<div class="article" id="artibody">\n<div class="video-2017"'
                    b' id="videoList0"></div>\n</div>\n'
                )
                + html[end_at:]
            )
        b.add(url, html)
        items.append(roll_item(url, title, 1672545600 - n * 60))
    b.add_roll("china", 1, roll_body(items))
    return b.write()


@pytest.mark.parametrize(
    ("redesigned", "video_only", "code", "alarm"),
    # since #18 the generic extractor archives a page whose body container was renamed; the
    # alarm rings when most of the channel's articles needed it (and says what was lost)
    [(5, 0, 3, True), (3, 0, 3, True), (2, 0, 0, False), (1, 0, 0, False), (0, 3, 1, False)],
)
def test_redesigned_pages_raise_the_health_alarm(
    redesigned: int, video_only: int, code: int, alarm: bool, tmp_path: Path
) -> None:
    replay = _redesign_replay(tmp_path / "replay", redesigned, video_only, 5)
    summary = tmp_path / "s.json"
    done = run(
        cli(
            "crawl",
            "--replay",
            str(replay),
            "-o",
            str(tmp_path / "out"),
            "--images",
            "off",
            "--summary-json",
            str(summary),
        )
    )
    assert done.returncode == code, done.stderr[-3000:]
    health = json.loads(summary.read_text("utf-8"))["health"]
    assert bool(health) is alarm
    if alarm:
        assert "channel china" in health[0] and "body container" in health[0]
        assert "warning: health: channel china" in done.stderr


def test_empty_roll_feed_raises_the_health_alarm(tmp_path: Path) -> None:
    b = ReplayBuilder(tmp_path / "replay")
    b.add_roll("china", 1, roll_body([]))
    done = run(cli("crawl", "--replay", str(b.write()), "-o", str(tmp_path / "out")))
    assert done.returncode == 3
    assert "channel china: the roll feed yielded no items" in done.stderr


# --- politeness ---


def test_politeness_defaults_are_in_effect_in_a_real_crawl(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    site = Site(http_server, 9, per_page=10)
    http_server.routes["/robots.txt"] = Route(
        body=b"User-agent: *\nDisallow: /china/2023-01-01/doc-izzsyn000005.shtml\n",
        headers={"Content-Type": "text/plain"},
    )
    active, peak, lock = [0], [0], threading.Lock()

    def slow_article(html: bytes) -> Any:
        def answer(_: Any) -> Route:
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.6)  # uncapped, all eight would be in flight at once
            with lock:
                active[0] -= 1
            return Route(body=html, headers={"Content-Type": HTML})

        return answer

    for url, _, html in site.articles:
        http_server.routes[path_of(url)] = slow_article(html)
    out = tmp_path / "out"
    # defaults except the throttle's start delay (1 s a request would make this test slow)
    done = run(
        command(
            http_server,
            "crawl",
            out,
            "--images",
            "off",
            "-s",
            "AUTOTHROTTLE_START_DELAY=0.05",
            "-s",
            "DOWNLOAD_DELAY=0.05",
            fast=False,
        )
    )
    assert done.returncode == 1, done.stderr[-3000:]  # the disallowed one is a failure
    assert "robots.txt" in done.stderr and "doc-izzsyn000005" in done.stderr
    assert http_server.hits["/robots.txt"] >= 2  # the roll API's host and the articles' host
    assert http_server.hits[path_of(site.articles[5][0])] == 0
    agents = {r.headers.get("User-Agent", "") for r in http_server.requests}
    assert len(agents) == 1 and next(iter(agents)).startswith("newsspider/")
    assert "AutoThrottle" in done.stderr  # listed among the enabled extensions
    assert 2 <= peak[0] <= 4  # CONCURRENT_REQUESTS_PER_DOMAIN


def test_politeness_settings_defaults_and_overrides() -> None:
    import argparse

    from newsspider.cli import _settings
    from newsspider.crawl.addon import Newsspider

    def crawl_settings(args: argparse.Namespace) -> Any:
        s = _settings(args)
        Newsspider(crawler=None).update_settings(s)  # type: ignore[arg-type]  # as Scrapy does
        return s

    args = argparse.Namespace(log_level="ERROR", set=None)
    s = crawl_settings(args)
    assert s.getbool("ROBOTSTXT_OBEY") and s.getbool("AUTOTHROTTLE_ENABLED")
    assert s.get("USER_AGENT").startswith("newsspider/")
    assert 0 < s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 4
    assert 0 < s.getint("DOWNLOAD_MAXSIZE") <= 64 * 1024 * 1024
    assert s.getint("RETRY_TIMES") > 0 and 429 in [int(c) for c in s.getlist("RETRY_HTTP_CODES")]
    args.set = [
        "ROBOTSTXT_OBEY=False",
        "AUTOTHROTTLE_ENABLED=False",
        "USER_AGENT=x",
        "CONCURRENT_REQUESTS_PER_DOMAIN=1",
        "DOWNLOAD_MAXSIZE=10",
    ]
    s = crawl_settings(args)
    assert not s.getbool("ROBOTSTXT_OBEY") and not s.getbool("AUTOTHROTTLE_ENABLED")
    assert s.get("USER_AGENT") == "x" and s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert s.getint("DOWNLOAD_MAXSIZE") == 10


def test_retry_after_parsing() -> None:
    from newsspider.crawl.retry import retry_after_seconds

    assert retry_after_seconds(b"20") == 20
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490) == 0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_crash_hook_is_inert_without_its_variable() -> None:
    from newsspider.testhooks import ENV, crash_point

    assert ENV not in os.environ
    crash_point("post")  # returns: nothing set
