"""Hostile images through ``newsspider fetch``: the article pages come from a replay directory,
their images from a real socket (the loopback server, let through by ``_loopback_replay``).
Every bad image is refused with its reason and keeps its remote link; nothing lands outside
``<output>/images``; the articles are archived, the good one normally.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from archive.test_image_paths import HTML_PAGE, SVG, jpeg, png, png_bomb
from hostilekit import LEDGER, Crawl, article, check_all, run
from rollreplay import ReplayBuilder
from server import LocalHTTPServer, Route, redirect

from newsspider.archive.index import Index

GROUP = "images"
MIDDLEWARES = json.dumps(
    {
        "_loopback_replay.LoopbackPassThroughReplay": 50,
        "newsspider.crawl.middlewares.ReplayDownloaderMiddleware": None,
    }
)
PNG_DATA = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"


def _routes(srv: LocalHTTPServer) -> dict[str, tuple[str, str]]:
    """Serve the hostile images; label -> (URL as the body holds it, expected reason)."""
    b = srv.base_url
    jpg = jpeg((64, 48))
    served = {
        "/i/bomb.png": ("image/png", png_bomb()),
        "/i/empty.jpg": ("image/jpeg", b""),
        "/i/truncated.jpg": ("image/jpeg", jpg[: len(jpg) // 2]),
        "/i/script.svg": ("image/svg+xml", SVG),
        "/i/svg-as.jpg": ("image/jpeg", SVG),
        "/i/page.jpg": ("image/jpeg", HTML_PAGE),
        "/i/huge.jpg": ("image/jpeg", b"\xff\xd8" + b"\0" * (11 * 1024 * 1024)),
        "/good/photo.jpg": ("image/jpeg", jpg),
    }
    for path, (ctype, body) in served.items():
        srv.routes[path] = Route(body=body, headers={"Content-Type": ctype})
    srv.routes["/r/file"] = redirect("file:///etc/passwd")
    srv.routes["/r/data"] = redirect(PNG_DATA)
    srv.routes["/r/offsite"] = redirect("http://evil.example.com/x.jpg")
    srv.routes["/r/loop"] = redirect("/r/loop")
    srv.routes["/dot/%2e%2e/%2e%2e/escape.png"] = Route(
        body=png((20, 20)), headers={"Content-Type": "image/png"}
    )
    return {
        "decompression bomb": (f"{b}/i/bomb.png", "too-many-pixels"),
        "0-byte file": (f"{b}/i/empty.jpg", "empty"),
        "JPEG with a truncated tail": (f"{b}/i/truncated.jpg", "corrupt"),
        "SVG with a script": (f"{b}/i/script.svg", "svg"),
        "SVG served as image/jpeg": (f"{b}/i/svg-as.jpg", "svg"),
        "HTML page served as image/jpeg": (f"{b}/i/page.jpg", "not-an-image"),
        "11 MB image (over the byte cap)": (f"{b}/i/huge.jpg", "too-large"),
        "redirect to file://": (f"{b}/r/file", "disallowed-redirect"),
        "redirect to data:": (f"{b}/r/data", "disallowed-redirect"),
        "redirect to a host outside the allowed ones": (f"{b}/r/offsite", "disallowed-redirect"),
        "redirect loop": (f"{b}/r/loop", "too-many-redirects"),
        "image on a host outside the allowed ones": ("https://evil.example.com/a.jpg",
                                                      "disallowed-host"),
        "file:// image URL": ("file:///etc/passwd", ""),
        "data: image URL": (PNG_DATA, ""),
        "URL with .. segments": (f"{b}/i/../../../../etc/passwd", "http-404"),
        "URL with encoded .. segments": (f"{b}/dot/%2e%2e/%2e%2e/escape.png", "stored"),
    }  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def images_crawl(
    server: LocalHTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Crawl, dict[str, tuple[str, str]], list[str]]:
    watch = tmp_path_factory.getbasetemp()
    root = tmp_path_factory.mktemp("images")
    cases = _routes(server)
    b = server.base_url
    replay = ReplayBuilder(root / "replay")
    imgs = "".join(f'<p><img src="{u}"></p>' for u, _ in cases.values())
    bad_url, _, _, bad = article(400, body_html=imgs, where="middle")
    # on a Sina image host the replay answers (404, at once): 300 requests cost no socket time
    many = "".join(f'<img src="https://n.sinaimg.cn/many/{k}.jpg">' for k in range(10_000))
    many_url, _, _, many_page = article(401, body_html=many, where="middle")
    same = f'<img src="{b}/good/photo.jpg">' * 1000
    same_url, _, _, same_page = article(402, body_html=same, where="middle")
    good_url, _, _, good = article(403, body_html=f'<p><img src="{b}/good/photo.jpg"></p>')
    for url, page in (
        (bad_url, bad),
        (many_url, many_page),
        (same_url, same_page),
        (good_url, good),
    ):
        replay.add(url, page)
    replay.write()
    urls = [bad_url, many_url, same_url, good_url]
    argv = ["fetch", *urls, "--replay", str(replay.dir), "--images", "local",
            "-s", "NEWSSPIDER_IMAGE_HOSTS=127.0.0.1,*.sinaimg.cn",
            "-s", f"DOWNLOADER_MIDDLEWARES={MIDDLEWARES}", "-s", "DOWNLOAD_DELAY=0",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_ENABLED=False",
            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "REDIRECT_MAX_TIMES=5"]  # fmt: skip
    return run("images", root, argv, watch=watch, timeout=180), cases, urls


def test_every_bad_image_is_refused_with_its_reason(
    images_crawl: tuple[Crawl, dict[str, tuple[str, str]], list[str]],
) -> None:
    crawl, cases, urls = images_crawl
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr
    index = Index(crawl.out)
    try:
        rec = index.get(urls[0].rsplit("doc-i", 1)[1].split(".")[0])
        assert rec is not None
        failed, local = rec.failed_images or {}, rec.local_images or {}
    finally:
        index.close()
    for label, (url, reason) in cases.items():
        if reason == "stored":
            path = next(p for u, p in local.items() if "escape.png" in u)
            assert path.startswith("images/127.0.0.1/dot/") and ".." not in path.split("/")
            LEDGER.add(GROUP, label, "archived")
        elif reason:
            got = failed.get(url) or next((r for u, r in failed.items() if "etc/passwd" in u), "")
            assert got == reason, f"{label}: {got!r}"
            assert "image not kept: " in crawl.stderr
            LEDGER.add(GROUP, label, f"skipped: image {reason}")
        else:  # never an image request at all: removed from the body (FORMAT.md)
            assert url not in failed and url not in local
            LEDGER.add(GROUP, label, "sanitised")


def test_image_cap_and_repeats(
    images_crawl: tuple[Crawl, dict[str, tuple[str, str]], list[str]], server: LocalHTTPServer
) -> None:
    crawl, _, urls = images_crawl
    # the seed's own 6 pictures come first: 10,006 images, the first 300 are requested
    assert crawl.stats["images/over_cap"] == 10_006 - 300
    assert "images over the cap: " + urls[1] + " shows 10006 images" in crawl.stderr
    requested = crawl.stderr.count("image not kept: https://n.sinaimg.cn/many/")
    assert 0 < requested <= 300, "only the first NEWSSPIDER_IMAGE_MAX_PER_ARTICLE are requested"
    assert server.hits["/good/photo.jpg"] == 1, "one URL 1,000 times (and in 2 articles): 1 request"
    LEDGER.add(GROUP, "10,000 images in one article", "sanitised")
    LEDGER.add(GROUP, "the same image URL 1,000 times", "archived")


def test_posts_and_files_are_sound(
    images_crawl: tuple[Crawl, dict[str, tuple[str, str]], list[str]],
) -> None:
    crawl, _, _ = images_crawl
    posts = crawl.posts()
    assert len(posts) == 4, "every article archived, the good one with its local picture"
    assert check_all(posts, crawl.out) == {}
    good = max(posts, key=lambda p: p.stat().st_mtime_ns if "403" in p.name else 0)
    assert "/images/127.0.0.1/good/photo.jpg" in good.read_text("utf-8")
    files = [p for p in (crawl.out / "images").rglob("*") if p.is_file()]
    assert {p.relative_to(crawl.out).as_posix() for p in files} == {
        "images/127.0.0.1/good/photo.jpg", "images/127.0.0.1/dot/-__/-__/escape.png"}  # fmt: skip
    from PIL import Image

    for p in files:
        with Image.open(io.BytesIO(p.read_bytes())) as img:
            img.load()
