"""Same site at every hop, one end per article: hostile redirects, meta refreshes, roll item URLs,
image URLs and dates, through the real ``newsspider`` command on replayed crawls.

One channel crawl carries most inputs beside good articles: listed articles that answer 30x (or
a meta refresh) to another host, spelled to fool a string test (userinfo, backslash, percent
escapes, IDNA look-alikes, a port), a redirect loop, in-site redirects that must still work,
roll items whose URL only looks like Sina's, a page whose ``create_at`` is ``0001-01-01``, and
images on hosts that only look like Sina's. Every off-site target is in the replay directory
with a page of its own, so following it would archive it: the only thing between those pages
and a post is the same-site check. A ``fetch`` carries the cases without a roll list.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from archive.test_image_paths import jpeg
from hostilekit import LEDGER, Crawl, article, check_all, post_titles, run
from rollreplay import ReplayBuilder, roll_body, roll_item

from newsspider.archive.post import rfc1123

GROUP = "hops"
T = 1672545600  # 2023-01-01 12:00 Beijing
EVIL = "https://evil.example.com/china/doc-ievil00001.shtml"
SUMMARY = re.compile(r"newsspider: archived (\d+), updated (\d+), unchanged (\d+), failed (\d+)")

#: n -> (label, Location the article answers with, reason its failed line starts with)
OFFSITE_REDIRECTS: dict[int, tuple[str, str, str]] = {
    801: ("302 to another host", EVIL, "off-site redirect to evil.example.com"),
    802: ("301 to Sina's name as userinfo",
          "https://finance.sina.com.cn@evil.example.com/china/doc-ievil00002.shtml",
          "off-site redirect to evil.example.com"),
    803: ("307 with a backslash before Sina's name",
          "https://evil.example.com\\.finance.sina.com.cn/china/doc-ievil00003.shtml",
          "off-site redirect to evil.example.com"),
    804: ("308 to a percent-escaped host", "https://%65vil.example.com/china/doc-ievil4.shtml",
          "off-site redirect to evil.example.com"),
    805: ("303 to an IDNA look-alike (Cyrillic і)",
          "https://finance.s\u0456na.com.cn/china/doc-ievil00005.shtml",
          "off-site redirect to finance.xn--sna-jhd.com.cn"),
    806: ("302 to Sina on another port", "https://finance.sina.com.cn:8443/china/doc-iev6.shtml",
          "off-site redirect to finance.sina.com.cn:8443"),
    807: ("302 protocol-relative to another host", "//evil.example.com/china/doc-ievil7.shtml",
          "off-site redirect to evil.example.com"),
}  # fmt: skip

#: roll item URLs that only look like Sina's: skipped as roll/bad_item/foreign_host
BAD_ROLL_URLS = {
    "backslash before Sina's name": "https://evil.example.com\\.finance.sina.com.cn/doc-ievil91.shtml",
    "Sina's name as userinfo": "https://finance.sina.com.cn@evil.example.com/doc-ievil92.shtml",
    "percent-escaped host": "https://%65vil.example.com/doc-ievil93.shtml",
    "Sina's name with a port": "https://finance.sina.com.cn:8443/doc-ievil94.shtml",
    "encoded slash inside the host": "https://evil.example.com%2f.finance.sina.com.cn/d.shtml",
    "fullwidth-dot look-alike host": "https://evil\uff0eexample\uff0ecom/doc-ievil96.shtml",
}  # fmt: skip


def _summary(stderr: str) -> dict[str, int]:
    m = SUMMARY.search(stderr)
    assert m, stderr[-2000:]
    return dict(
        zip(("archived", "updated", "unchanged", "failed"), map(int, m.groups()), strict=True)
    )


def _redirect(replay: ReplayBuilder, url: str, location: str, status: int = 302) -> None:
    """A ``->Location`` row (REPLAY.md): replayed as the 30x a live server would send."""
    replay.rows[url] = ("->" + location, status, "text/html")


def _meta_refresh(page: bytes, target: str) -> bytes:
    tag = f'<meta http-equiv="refresh" content="0; url={target}">'.encode()
    return page.replace(b"<head>", b"<head>" + tag, 1)


@pytest.fixture(scope="module")
def hops_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawl, dict[str, Any]]:
    watch = tmp_path_factory.getbasetemp()
    root = tmp_path_factory.mktemp("hops")
    replay = ReplayBuilder(root / "replay")
    items: list[Any] = []
    cases: dict[str, Any] = {"offsite": {}, "titles": {}}

    def listed(n: int, **kw: Any) -> tuple[str, str, bytes]:
        url, _, title, page = article(n, **kw)
        items.append(roll_item(url, title, T - n))
        cases["titles"][n] = title
        return url, title, page

    # good articles: archived normally
    for n in (800, 899):
        url, _, page = listed(n)
        replay.add(url, page)
    # off-site redirects; each target answers with an article page of its own
    _, _, evil_title, evil_page = article(890)
    cases["evil_title"] = evil_title
    for n, (_, location, _) in OFFSITE_REDIRECTS.items():
        url, _, _ = listed(n)
        _redirect(replay, url, location, status=[302, 301, 307, 308, 303, 302, 302][n - 801])
        cases["offsite"][url] = n
    for target in (EVIL, "https://evil.example.com/china/doc-ievil00002.shtml",
                   "https://evil.example.com/.finance.sina.com.cn/china/doc-ievil00003.shtml",
                   "https://evil.example.com/china/doc-ievil4.shtml",
                   "https://finance.xn--sna-jhd.com.cn/china/doc-ievil00005.shtml",
                   "https://finance.sina.com.cn:8443/china/doc-iev6.shtml",
                   "https://evil.example.com/china/doc-ievil7.shtml"):  # fmt: skip
        replay.add(target, evil_page)
    # a meta refresh to another host, on a page that is otherwise a good article
    url, _, page = listed(810)
    replay.add(url, _meta_refresh(page, EVIL))
    cases["meta_refresh"] = url
    # A -> B -> A
    url, _, _ = listed(811)
    hop = url.replace(".shtml", "-b.shtml")
    _redirect(replay, url, hop)
    _redirect(replay, hop, url)
    cases["loop"] = url
    # in-site redirects (a moved article, a trailing-dot host): followed and archived
    url, _, _ = listed(812)
    moved_url, _, moved_title, moved_page = article(813)
    _redirect(replay, url, moved_url)
    replay.add(moved_url, moved_page)
    cases["moved_title"] = moved_title
    url, _, _ = listed(814)
    dotted = url.replace("finance.sina.com.cn", "finance.sina.com.cn.") + "?via=dot"
    _redirect(replay, url, dotted, status=301)
    _, _, dot_title, dot_page = article(815)
    replay.add(dotted, dot_page)
    cases["dot_title"] = dot_title
    # an article that redirects to another listed article: the second request of that URL
    url, _, _ = listed(816)
    _redirect(replay, url, replay_url := article(800)[0])
    cases["dup_redirect"] = (url, replay_url)
    # create_at 0001-01-01: the roll item's ctime is the next date source
    url, _, page = listed(820)
    page = re.sub(rb'(article:create_at" content=")[^"]+', rb"\g<1>0001-01-01 00:00:00", page)
    replay.add(url, page)
    cases["bad_date"] = (820, T - 820)
    # images on hosts that only look like Sina's image host; each is in the replay
    good_img = "https://n.sinaimg.cn/hops/good.jpg"
    bad_imgs = {
        "backslash": "https://evil.example.com\\.n.sinaimg.cn/hops/a.jpg",
        "userinfo": "https://n.sinaimg.cn@evil.example.com/hops/b.jpg",
    }
    body = "".join(f'<p><img src="{u}"></p>' for u in [good_img, *bad_imgs.values()])
    url, _, page = listed(830, body_html=body, where="middle")
    replay.add(url, page)
    for target in (good_img, "https://evil.example.com/.n.sinaimg.cn/hops/a.jpg",
                   "https://evil.example.com/hops/b.jpg"):  # fmt: skip
        replay.add(target, jpeg((32, 24)), content_type="image/jpeg")
    cases["images"] = (830, good_img, bad_imgs)
    # roll items whose URL only looks like Sina's
    items += [{"url": u, "title": "evil", "ctime": str(T)} for u in BAD_ROLL_URLS.values()]
    replay.add_roll("china", 1, roll_body(items))
    replay.add_roll("china", 2, roll_body([]))
    replay.write()
    argv = ["crawl", "--replay", str(replay.dir), "--images", "local"]
    return run("hops", root, argv, watch=watch, timeout=180), cases


def test_offsite_hops_fail_the_article_and_make_no_post(
    hops_crawl: tuple[Crawl, dict[str, Any]],
) -> None:
    crawl, cases = hops_crawl
    assert crawl.returncode == 1, crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr
    failures = crawl.failures
    for url, n in cases["offsite"].items():
        label, _, reason = OFFSITE_REDIRECTS[n]
        assert failures.get(url, "").startswith(reason), (label, failures.get(url))
        LEDGER.add(GROUP, f"listed article: {label}", f"skipped: {reason.split(' to ')[0]}")
    assert failures[cases["meta_refresh"]] == "off-site redirect to evil.example.com"
    LEDGER.add(GROUP, "meta refresh to another host", "skipped: off-site redirect")
    titles = post_titles(crawl.posts())
    assert cases["evil_title"] not in titles, "a page from another host was archived"
    for n in [*cases["offsite"].values(), 810]:
        assert cases["titles"][n] not in titles
    text = "".join(p.read_text("utf-8") for p in crawl.posts())
    assert "evil.example.com/china" not in text and "xn--sna" not in text
    assert check_all(crawl.posts(), crawl.out) == {}


def test_redirect_loop_and_redirect_to_a_requested_url_each_end_once(
    hops_crawl: tuple[Crawl, dict[str, Any]],
) -> None:
    crawl, cases = hops_crawl
    failures = crawl.failures
    assert failures[cases["loop"]].startswith("redirect loop ("), failures[cases["loop"]]
    LEDGER.add(GROUP, "redirect loop A -> B -> A", "skipped: redirect loop")
    url, target = cases["dup_redirect"]
    assert failures[url] == f"redirected to {target}, which this run already requested"
    LEDGER.add(GROUP, "redirect to an article this run requested", "skipped: duplicate")


def test_in_site_redirects_are_followed(hops_crawl: tuple[Crawl, dict[str, Any]]) -> None:
    crawl, cases = hops_crawl
    titles = post_titles(crawl.posts())
    assert cases["moved_title"] in titles
    assert cases["dot_title"] in titles, "a trailing-dot Sina host is Sina"
    LEDGER.add(GROUP, "302 to another Sina article URL", "archived")
    LEDGER.add(GROUP, "301 to Sina's host with a trailing dot", "archived")


def test_a_bad_create_at_falls_back_to_the_roll_time(
    hops_crawl: tuple[Crawl, dict[str, Any]],
) -> None:
    crawl, cases = hops_crawl
    n, ctime = cases["bad_date"]
    post = post_titles(crawl.posts())[cases["titles"][n]]
    assert f"\ndate: {rfc1123(float(ctime))}\n" in post.read_text("utf-8")
    assert crawl.summary["stats"]["article/bad_date"] == 1
    LEDGER.add(GROUP, "create_at 0001-01-01 with a roll ctime", "archived")


def test_lookalike_roll_items_are_skipped(hops_crawl: tuple[Crawl, dict[str, Any]]) -> None:
    crawl, _ = hops_crawl
    stats = crawl.summary["stats"]
    assert stats["roll/bad_item/foreign_host"] == len(BAD_ROLL_URLS)
    assert crawl.stderr.count("not a Sina article host (") == len(BAD_ROLL_URLS)
    for label in BAD_ROLL_URLS:
        LEDGER.add(GROUP, f"roll item: {label}", "skipped: roll item foreign_host")
    # none was requested: a request would have failed (a replay miss) and been counted
    assert not any("ievil9" in url for url in crawl.failures)


def test_offsite_images_stay_remote_and_the_article_is_archived(
    hops_crawl: tuple[Crawl, dict[str, Any]],
) -> None:
    crawl, cases = hops_crawl
    n, good, bad = cases["images"]
    post = post_titles(crawl.posts())[cases["titles"][n]].read_text("utf-8")
    assert good not in post, "the good image is linked locally"
    assert "/images/" in post
    stored = [p for p in (crawl.out / "images").rglob("*") if p.is_file()]
    assert len(stored) == 1, stored
    # the bad ones keep their remote link (as the body transform resolved it)
    assert "https://evil.example.com/.n.sinaimg.cn/hops/a.jpg" in post
    assert "https://n.sinaimg.cn@evil.example.com/hops/b.jpg" in post
    assert crawl.summary["stats"].get("images/failed/disallowed-host", 0) >= 2
    for label in bad:
        LEDGER.add(GROUP, f"image URL with {label}", "skipped: image not kept (disallowed-host)")


def test_every_requested_article_has_one_end(hops_crawl: tuple[Crawl, dict[str, Any]]) -> None:
    crawl, _ = hops_crawl
    counts = crawl.summary["counts"]
    ends = counts["archived"] + counts["updated"] + counts["unchanged"] + counts["failed"]
    assert ends == counts["requested"], counts
    assert counts["failed"] == len(crawl.failures) == len(OFFSITE_REDIRECTS) + 3
    assert _summary(crawl.stderr) == {k: counts[k] for k in ("archived", "updated",
                                                             "unchanged", "failed")}  # fmt: skip


# --- fetch: no roll list to fall back on ------------------------------------------------------


def test_fetch_bad_date_offsite_and_duplicate_urls(tmp_path: Path) -> None:
    root = tmp_path
    replay = ReplayBuilder(root / "replay")
    bad_url, _, bad_title, page = article(840)
    page = re.sub(rb'(article:create_at" content=")[^"]+', rb"\g<1>0001-01-01 00:00:00", page)
    page = re.sub(rb'(<span class="date">)[^<]+', "\\g<1>0001年01月01日 00:00".encode(), page)
    replay.add(bad_url, page)
    far_url, _, far_title, far_page = article(841)
    far_page = re.sub(rb'(article:create_at" content=")[^"]+', rb"\g<1>9999-12-31 23:59:59",
                      far_page)  # fmt: skip
    replay.add(far_url, far_page)
    good_url, _, good_title, good_page = article(842)
    replay.add(good_url, good_page)
    _, _, evil_title, evil_page = article(843)
    replay.add("https://evil.example.com/x/doc-ievil843.shtml", evil_page)
    replay.write()
    offsite = "https://finance.sina.com.cn@evil.example.com/x/doc-ievil843.shtml"
    argv = ["fetch", bad_url, far_url, good_url, good_url, offsite, "--replay", str(replay.dir)]
    crawl = run("hops fetch", root, argv, watch=tmp_path, timeout=120)
    assert crawl.returncode == 1, crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr
    failures = crawl.failures
    assert failures[bad_url].startswith("bad date: weibo: article:create_at 0001-01-01"), failures
    assert failures["https://evil.example.com/x/doc-ievil843.shtml"] == (
        "off-site URL: evil.example.com is not a Sina article host"
    ), failures
    assert len(failures) == 2
    titles = post_titles(crawl.posts())
    assert set(titles) == {good_title, far_title}, "the 9999 create_at fell back to the page date"
    assert evil_title not in titles and bad_title not in titles
    assert _summary(crawl.stderr) == {"archived": 2, "updated": 0, "unchanged": 0, "failed": 2}
    LEDGER.add(GROUP, "fetch: every date 0001-01-01", "skipped: bad date")
    LEDGER.add(GROUP, "fetch: create_at 9999-12-31", "archived")
    LEDGER.add(GROUP, "fetch: Sina's name as userinfo", "skipped: off-site URL")
    LEDGER.add(GROUP, "fetch: the same URL twice", "archived")
