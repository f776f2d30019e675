"""Images through the real command line: download, keep exact, refuse what is bad, link locally.

The article page is the seed golden article, answered from a replay directory under its real
Sina URL, with its images rewritten to point at the loopback server (``_loopback_replay``
lets loopback URLs through to it), which serves real images of every format and broken ones of
every kind. Each crawl is ``newsspider fetch`` in a fresh process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from archive.test_image_paths import HTML_PAGE, SVG, gif_animated, jpeg, png, png_bomb, webp
from conftest import GOLDEN, PROJECT, TESTS
from PIL import Image
from server import LocalHTTPServer, Route, redirect

from newsspider.archive.images import ImageTable
from newsspider.archive.index import Index
from newsspider.archive.names import image_path

SEED = GOLDEN / "seed-digital-governance"
URL = "https://finance.sina.com.cn/china/dfjj/2021-12-02/doc-ikyamrmy6387093.shtml"
POST = json.loads((SEED / "case.json").read_text("utf-8"))["expected_path"]
MIDDLEWARES = json.dumps(
    {
        "_loopback_replay.LoopbackPassThroughReplay": 50,
        "newsspider.crawl.middlewares.ReplayDownloaderMiddleware": None,
    }
)

#: served path -> (content type, body, Pillow format): the images that must be kept
GOOD: dict[str, tuple[str, bytes, str]] = {
    "/img/photo.jpg": ("image/jpeg", jpeg((64, 48)), "JPEG"),
    "/img/chart.png": ("image/png", png((40, 30)), "PNG"),
    "/img/anim.gif": ("image/gif", gif_animated(3), "GIF"),
    "/img/pic": ("image/webp", webp((32, 32)), "WEBP"),  # requested with a query string
    "/img/_x/photo2.gif": ("image/jpeg", jpeg((30, 30)), "JPEG"),  # a JPEG named .gif
    "/qr/343233024.png": ("image/png", png((50, 50)), "PNG"),  # Sina's QR block: kept too
    "/img/target.png": ("image/png", png((12, 12)), "PNG"),  # the end of an allowed redirect
}
#: the good images in the order the body shows them, as the body URLs' paths
GOOD_URLS = ("/img/photo.jpg", "/img/chart.png", "/img/anim.gif", "/img/pic?size=big",
             "/img/_x/photo2.gif", "/qr/343233024.png", "/ok/moved.png")  # fmt: skip
#: served path -> expected reason: the images that must not be kept
BAD: dict[str, str] = {
    "/bad/truncated.jpg": "corrupt",
    "/bad/empty.jpg": "empty",
    "/bad/page.jpg": "not-an-image",
    "/bad/bomb.png": "too-many-pixels",
    "/bad/pixel.gif": "tracking-pixel",
    "/bad/evil.svg": "svg",
    "/bad/moved.jpg": "disallowed-redirect",
    "/bad/missing.jpg": "http-404",
}
OFFSITE = "https://example.org/elsewhere.jpg"


def routes(server: LocalHTTPServer) -> None:
    for path, (ctype, body, _fmt) in GOOD.items():
        server.routes[path] = (200, {"Content-Type": ctype}, body)
    server.routes["/ok/moved.png"] = redirect("/img/target.png", status=301)
    data = jpeg((64, 48))
    server.routes["/bad/truncated.jpg"] = (200, {"Content-Type": "image/jpeg"}, data[:-400])
    server.routes["/bad/empty.jpg"] = (200, {"Content-Type": "image/jpeg"}, b"")
    server.routes["/bad/page.jpg"] = (200, {"Content-Type": "image/jpeg"}, HTML_PAGE)
    server.routes["/bad/bomb.png"] = (200, {"Content-Type": "image/png"}, png_bomb())
    server.routes["/bad/pixel.gif"] = (200, {"Content-Type": "image/gif"},
                                       _encode(Image.new("RGB", (1, 1)), "GIF"))  # fmt: skip
    server.routes["/bad/evil.svg"] = (200, {"Content-Type": "image/svg+xml"}, SVG)
    server.routes["/bad/moved.jpg"] = redirect("http://evil.example.com/x.jpg")


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def article_html(base: str) -> bytes:
    """The seed article with its pictures on the loopback server and broken ones added after
    the first picture (so that the first, headimg, is a good one)."""
    html = (SEED / "article.html").read_text("utf-8")
    content = re.findall(r'<img id="\d" src="([^"]+)"', html)
    assert len(content) == 5
    for old, new in zip(content, GOOD_URLS[:5], strict=True):
        html = html.replace(f'src="{old}"', f'src="{base}{new}"', 1)
    qr = "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"
    assert qr in html
    html = html.replace(qr, f"{base}/qr/343233024.png")
    extra = "".join(f'<img src="{base}{p}">' for p in [*BAD, "/ok/moved.png"])
    extra += f'<img src="{OFFSITE}">'
    first = re.search(r'<img id="0" src="[^"]+" alt="">', html)
    assert first
    return (html[: first.end()] + extra + html[first.end() :]).encode("utf-8")


def replay_dir(root: Path, base: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "article.html").write_bytes(article_html(base))
    (root / "MANIFEST.tsv").write_text(
        f"url\tfile\tstatus\tcontent_type\n{URL}\tarticle.html\t200\ttext/html; charset=utf-8\n",
        "utf-8",
    )
    return root


@dataclass
class Fetch:
    returncode: int
    stderr: str
    stats: dict[str, int]
    output: Path

    @property
    def post(self) -> str:
        return (self.output / POST).read_text("utf-8")


def fetch(replay: Path, output: Path, images: str, *extra: str, compact: bool = False) -> Fetch:
    """``newsspider fetch`` the article, images widened to the loopback host, no delays."""
    args = [
        sys.executable, "-m", "newsspider.cli", "fetch", URL, "--replay", str(replay),
        "--images", images, "--output", str(output), "--log-level", "INFO",
        "-s", "NEWSSPIDER_IMAGE_HOSTS=127.0.0.1,*.sinaimg.cn",
        "-s", f"DOWNLOADER_MIDDLEWARES={MIDDLEWARES}",
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_ENABLED=False",
        *(["--compact-body"] if compact else []), *extra,
    ]  # fmt: skip
    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=180, cwd=PROJECT, env=env,
                          check=False)  # fmt: skip
    stats = {k: int(v) for k, v in re.findall(r"'(images/[^']+)': (\d+)", proc.stderr)}
    return Fetch(proc.returncode, proc.stderr, stats, output)


def local_path(base: str, path: str) -> str:
    fmt = GOOD["/img/target.png" if path == "/ok/moved.png" else path.split("?")[0]][2]
    return image_path(base + path, fmt)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        routes(srv)
        yield srv


@pytest.fixture(scope="module")
def local_run(server: LocalHTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Fetch:
    root = tmp_path_factory.mktemp("local")
    result = fetch(replay_dir(root / "replay", server.base_url), root / "out", "local")
    assert result.returncode == 0, result.stderr[-5000:]
    return result


def test_downloaded_bytes_are_the_served_bytes(local_run: Fetch, server: LocalHTTPServer) -> None:
    base = server.base_url
    for path in GOOD_URLS:
        served = GOOD["/img/target.png" if path == "/ok/moved.png" else path.split("?")[0]]
        rel = local_path(base, path)
        stored = local_run.output / rel
        assert stored.is_file(), f"{path}: nothing at {rel}"
        assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(served[1]).digest()
        with Image.open(stored) as img:
            assert img.format == served[2]
            assert stored.suffix == {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif",
                                     "WEBP": ".webp"}[img.format]  # fmt: skip
    gif = local_run.output / local_path(base, "/img/anim.gif")
    with Image.open(gif) as img:
        assert img.n_frames == 3, "an animated GIF keeps every frame"
    assert local_path(base, "/img/pic?size=big").endswith(
        "-" + hashlib.sha1(f"{base}/img/pic?size=big".encode()).hexdigest()[:8] + ".webp"
    )
    assert "/-_x/photo2.jpg" in local_path(base, "/img/_x/photo2.gif")
    images = local_run.output / "images"
    assert all(not p.name.startswith((".", "_")) for p in images.rglob("*")), "Hexo skips those"


def test_local_post_links_downloaded_images_locally(
    local_run: Fetch, server: LocalHTTPServer
) -> None:
    base = server.base_url
    post = local_run.post
    srcs = re.findall(r'<img[^>]* src="([^"]*)"', post)
    for path in GOOD_URLS:
        assert f'src="/{local_path(base, path)}"' in post
        assert f'src="{base}{path}"' not in post
    head = f"/{local_path(base, '/img/photo.jpg')}"
    assert f"headimg: '{head}'" in post and f"thumbnail: '{head}'" in post
    remote = [s for s in srcs if not s.startswith("/images/")]
    expected_remote = {base + p for p in BAD} | {OFFSITE}
    offsite_kept = {s for s in remote if s.startswith(("http://", "https://"))}
    assert expected_remote <= offsite_kept, "failed images keep their remote URL"
    assert offsite_kept - expected_remote <= {
        s for s in offsite_kept if "sinaimg.cn" in s and "127.0.0.1" not in s
    }, "no off-site link for an image that downloaded"


def test_each_failure_is_logged_counted_and_recorded(
    local_run: Fetch, server: LocalHTTPServer
) -> None:
    base = server.base_url
    assert "archived 1" in local_run.stderr.splitlines()[-1], "the article is archived anyway"
    index = Index(local_run.output)
    try:
        rec = index.get("kyamrmy6387093")
        assert rec is not None and rec.failed_images is not None
        for path, reason in BAD.items():
            url = base + path
            assert rec.failed_images.get(url) == reason, path
            assert re.search(rf"image not kept: {re.escape(url)}: {reason}\b", local_run.stderr)
            assert local_run.stats.get(f"images/failed/{reason}", 0) >= 1, reason
        assert rec.failed_images[OFFSITE] == "disallowed-host"
        assert f"image not kept: {OFFSITE}: disallowed-host" in local_run.stderr
        assert local_run.stats["images/failed/disallowed-host"] == 1
        assert set(rec.local_images or {}) == {base + p for p in GOOD_URLS}
    finally:
        index.close()
    assert "Traceback" not in local_run.stderr
    assert server.hits["/bad/moved.jpg"] >= 1
    referers = {
        r.headers.get("Referer") for r in server.requests if r.bare_path.startswith("/img/")
    }
    assert referers == {URL}, "image requests carry the article page as Referer"


def test_rerun_downloads_nothing_twice_and_gives_up_after_max_attempts(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    routes(http_server)
    replay = replay_dir(tmp_path / "replay", http_server.base_url)
    out = tmp_path / "out"
    attempts = ("-s", "NEWSSPIDER_IMAGE_MAX_ATTEMPTS=2")
    first = fetch(replay, out, "local", *attempts)
    assert first.returncode == 0, first.stderr[-3000:]
    after_first = dict(http_server.hits)
    post = first.post
    second = fetch(replay, out, "local", *attempts)
    assert second.returncode == 0
    for path in GOOD:
        assert http_server.hits[path] == after_first[path] == 1, f"{path} downloaded twice"
    assert second.stats["images/uptodate"] == len(GOOD_URLS)
    for path in BAD:
        assert http_server.hits[path] == 2, f"{path}: retried once on the second run"
    assert second.post == post
    third = fetch(replay, out, "local", *attempts)
    assert third.returncode == 0
    for path in BAD:
        assert http_server.hits[path] == 2, f"{path}: given up after 2 attempts"
    assert third.stats["images/given_up"] == len(BAD)
    assert third.post == post


def test_image_that_arrives_later_is_linked_on_the_next_fetch(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    routes(http_server)
    late = GOOD["/img/chart.png"]
    http_server.routes["/img/chart.png"] = [Route(status=404), Route(200, {"Content-Type": late[0]},
                                                                      late[1])]  # fmt: skip
    replay = replay_dir(tmp_path / "replay", http_server.base_url)
    out = tmp_path / "out"
    first = fetch(replay, out, "local")
    url = http_server.base_url + "/img/chart.png"
    assert f'src="{url}"' in first.post
    second = fetch(replay, out, "local")
    assert "updated 1" in second.stderr.splitlines()[-1]
    rel = image_path(url, "PNG")
    assert f'src="/{rel}"' in second.post
    assert (out / rel).read_bytes() == late[1]


def test_remote_off_and_relink(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    routes(http_server)
    replay = replay_dir(tmp_path / "replay", http_server.base_url)
    off = fetch(replay, tmp_path / "off", "off")
    assert off.returncode == 0
    assert all(http_server.hits[p] == 0 for p in [*GOOD, *BAD]), "off downloads nothing"
    assert not (tmp_path / "off" / "images").exists() or not any(
        (tmp_path / "off" / "images").rglob("*.*")
    )

    remote = fetch(replay, tmp_path / "remote", "remote")
    local = fetch(replay, tmp_path / "local", "local")
    assert remote.post == off.post, "remote links are the archive's links"
    assert all((tmp_path / "remote" / local_path(http_server.base_url, p)).is_file()
               for p in GOOD_URLS), "remote mode downloads"  # fmt: skip
    assert remote.post != local.post

    # local and remote posts differ only in the image links
    base = http_server.base_url
    back = local.post
    for p in GOOD_URLS:
        back = back.replace(f"/{local_path(base, p)}", base + p)
    assert back == remote.post

    # relink switches an archive both ways, to the bytes a fresh crawl in that mode writes
    remote_post = tmp_path / "remote" / POST
    relink = [
        sys.executable,
        "-m",
        "newsspider.cli",
        "relink",
        "--output",
        str(tmp_path / "remote"),
    ]
    done = subprocess.run([*relink, "--images", "local"], capture_output=True, text=True,
                          cwd=PROJECT, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert remote_post.read_text("utf-8") == local.post
    done = subprocess.run([*relink, "--images", "remote"], capture_output=True, text=True,
                          cwd=PROJECT, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert remote_post.read_text("utf-8") == remote.post
    # and a fetch after a relink finds the post as it would write it
    again = fetch(replay, tmp_path / "remote", "remote")
    assert "unchanged 1" in again.stderr.splitlines()[-1]
    index = Index(tmp_path / "remote")
    assert ImageTable(index).local_paths([base + p for p in GOOD_URLS]).keys() == {
        base + p for p in GOOD_URLS
    }
    index.close()


# --- what Hexo makes of it ----------------------------------------------------------------------

_REAL_IMG = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"')


def _post_page(public: Path) -> str:
    import hexo

    pages = hexo.post_pages(public)
    assert len(pages) == 1, pages
    return pages[0].read_text("utf-8")


@pytest.mark.hexo
def test_local_images_resolve_in_the_generated_site(
    server: LocalHTTPServer, tmp_path: Path
) -> None:
    """Compact local posts: every picture is a real <img>, every downloaded one is served by the
    site itself (the file exists in public/), and the body holds no code block."""
    import hexo

    replay = replay_dir(tmp_path / "replay", server.base_url)
    run = fetch(replay, tmp_path / "out", "local", compact=True)
    assert run.returncode == 0, run.stderr[-3000:]
    result = hexo.generate_site(tmp_path / "out", tmp_path / "site")
    hexo.assert_clean(result)
    page = _post_page(result.public)
    srcs = _REAL_IMG.findall(page)
    local = [s for s in srcs if s.startswith("/images/")]
    assert len(local) == len(GOOD_URLS)
    for src in local:
        assert (result.public / src.lstrip("/")).is_file(), f"{src} is not in the site"
    offsite_downloaded = [s for s in srcs if s.startswith(server.base_url) and
                          s[len(server.base_url):] in GOOD_URLS]  # fmt: skip
    assert offsite_downloaded == [], "no off-site <img> for a downloaded image"
    assert "<pre><code" not in page


@pytest.mark.hexo
def test_compact_body_renders_without_code_blocks(tmp_path: Path) -> None:
    """Every golden case, compact: Hexo's Markdown pass adds no <pre><code> (the posts hold
    none). The same posts without --compact-body do get one (the seed's QR block): the check
    can fail."""
    import hexo
    from conftest import golden_cases

    for compact in (True, False):
        out = tmp_path / f"out-{compact}"
        for case in golden_cases():
            args = [sys.executable, "-m", "newsspider.cli", "fetch", case.url, "--replay",
                    str(case.dir), "--images", "off", "--channel", case.channel, "--output",
                    str(out), *(["--compact-body"] if compact else [])]  # fmt: skip
            proc = subprocess.run(args, capture_output=True, text=True, cwd=PROJECT, check=False)
            assert proc.returncode == 0, proc.stderr[-3000:]
        posts = sorted((out / "_posts").rglob("*.md"))
        assert len(posts) == len(golden_cases())
        assert not any("<pre" in p.read_text("utf-8") for p in posts)
        result = hexo.generate_site(out, tmp_path / f"site-{compact}")
        hexo.assert_clean(result)
        code_blocks = sum(
            p.read_text("utf-8").count("<pre><code") for p in hexo.post_pages(result.public)
        )
        if compact:
            assert code_blocks == 0
        else:
            assert code_blocks > 0, "control: the original bytes do render a code block"


def test_the_pipeline_uses_scrapys_seam() -> None:
    """The images pipeline keeps Scrapy's media_to_download (the store's stat_file decides)
    and its store comes from STORE_SCHEMES: no parallel storage path beside Scrapy's."""
    from scrapy.pipelines.files import FilesPipeline

    from newsspider.archive.images import ImageStore
    from newsspider.crawl.images import ImagesPipeline

    assert ImagesPipeline.media_to_download is FilesPipeline.media_to_download
    assert set(ImagesPipeline.STORE_SCHEMES.values()) == {ImageStore}
