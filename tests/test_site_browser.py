"""The README's publishing path, end to end, checked the way a reader sees it: in a browser.

``newsspider site init``, the README's main job (the sample crawl, replayed) into
``SITE/source``, the site's own ``npm run build`` (modules from the test cache, see
tests/hexo.py), ``public/`` served on 127.0.0.1, then headless Chromium (Debian's package,
driven over the DevTools pipe by tests/cdp.py) opens the index, every post, one archive page,
one category page and the search page. Nothing may leave 127.0.0.1, fail, or log a console
error; every post image must load; no post may show Sina's markup as a code block; the feed and
the search index must list every post; every internal link and image of the whole site must
answer 200.

A screenshot of one post is kept as an artifact: ``<tmp>/newsspider-artifacts/site-post.png``
(the path is printed; ``NEWSSPIDER_ARTIFACTS`` moves it). A missing Chromium, node or npm fails
these tests: they never skip.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import cdp
import hexo
import lxml.html
import pytest
import yaml
from conftest import PROJECT, run_newsspider

pytestmark = pytest.mark.hexo

SAMPLE = PROJECT / "examples" / "sample-crawl"
#: the sample post whose screenshot is kept (five images and the QR block)
SHOT_TITLE = "上海市委市政府召开治理数字化转型现场推进会，李强书记提到这个新蓝图"
_FRONT = re.compile(r"\A\n?---\n(.*?)\n---\n", re.S)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Site:
    root: Path
    public: Path
    base: str  # http://127.0.0.1:PORT
    titles: list[str]  # every post's title, from the posts' front matter
    build: hexo.HexoResult


def _post_titles(source: Path) -> list[str]:
    titles = []
    for post in sorted((source / "_posts").rglob("*.md")):
        text = post.read_text("utf-8").replace("&#123;", "{").replace("&#125;", "}")
        m = _FRONT.match(text)
        assert m, post
        titles.append(str(yaml.safe_load(m.group(1))["title"]))
    return titles


@contextlib.contextmanager
def _serve(public: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(public)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("site") / "site"
    init = run_newsspider("site", "init", str(root))
    assert init.returncode == 0, init.stderr
    crawl = run_newsspider("crawl", "--replay", str(SAMPLE), "--output", str(root / "source"))
    assert crawl.returncode == 0, crawl.stderr
    assert "archived 5" in crawl.stderr.splitlines()[-1], crawl.stderr
    build = hexo.build_site(root)
    hexo.assert_clean(build)
    with _serve(root / "public") as base:
        yield Site(root, root / "public", base, _post_titles(root / "source"), build)


def _post_urls(site: Site) -> list[str]:
    """Every post page's URL path, from the generated files (``YYYY/MM/DD/<hash>/``)."""
    return sorted("/" + p.parent.relative_to(site.public).as_posix() + "/"
                  for p in hexo.post_pages(site.public))  # fmt: skip


def test_the_sample_carries_its_images(site: Site) -> None:
    """The README's main job stores every image of the five posts and links the local copy."""
    images = [p for p in (site.root / "source" / "images").rglob("*") if p.is_file()]
    assert len(images) == 16
    posts = "".join(p.read_text("utf-8") for p in (site.root / "source" / "_posts").rglob("*.md"))
    assert 'src="https://n.sinaimg.cn' not in posts
    assert posts.count('src="/images/n.sinaimg.cn/') == 20  # 15 files, the QR image 5 times


def test_every_internal_link_and_image_answers_200(site: Site) -> None:
    """Crawl the whole generated site over HTTP: every href/src that stays on the site."""
    pages = sorted(site.public.rglob("*.html"))
    assert len(pages) >= 15
    checked: set[str] = set()
    for page in pages:
        page_url = "/" + page.relative_to(site.public).as_posix()
        tree = lxml.html.document_fromstring(page.read_bytes())  # comments hold no links
        for _el, _attr, link, _pos in tree.iterlinks():
            if link.startswith(("http:", "https:", "//", "mailto:", "#", "data:")):
                assert not link.startswith(("//", "https://n.sinaimg", "http://n.sinaimg")), (
                    f"{page_url} links another host: {link}"
                )
                continue
            path = urlsplit(urljoin(page_url, link)).path
            if path in checked:
                continue
            checked.add(path)
            try:
                with urllib.request.urlopen(site.base + path, timeout=10) as answer:
                    status = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status == 200, f"{page_url} -> {link} ({unquote(path)}): HTTP {status}"
    stored = [p for p in (site.public / "images").rglob("*") if p.is_file()]
    files = {"/" + p.relative_to(site.public).as_posix() for p in stored}
    assert len(files) == 16 and files <= checked, "every stored image is linked and served"
    assert set(_post_urls(site)) <= checked


def test_feed_lists_every_post(site: Site) -> None:
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(site.public / "atom.xml").getroot()
    entries = feed.findall("a:entry", ns)
    titles = sorted(html.unescape(e.findtext("a:title", "", ns)) for e in entries)
    assert titles == sorted(site.titles)
    paths = sorted(urlsplit(e.find("a:link", ns).get("href")).path for e in entries)  # type: ignore[union-attr]
    assert paths == _post_urls(site)


def test_search_index_holds_every_title(site: Site) -> None:
    import json

    index = json.loads((site.public / "search.json").read_text("utf-8"))
    assert sorted(item["title"] for item in index) == sorted(site.titles)
    assert sorted(item["url"] for item in index) == _post_urls(site)


def _artifact_dir() -> Path:
    folder = Path(os.environ.get("NEWSSPIDER_ARTIFACTS") or
                  Path(tempfile.gettempdir()) / "newsspider-artifacts")  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _assert_clean_load(page: cdp.Page, site: Site) -> None:
    log = page.log
    outside = [u for u in log.requests if not u.startswith(site.base + "/") and
               not u.startswith(("data:", "about:"))]  # fmt: skip
    assert outside == [], f"{log.url}: requests left 127.0.0.1: {outside}"
    assert log.failures == [], f"{log.url}: failed requests: {log.failures}"
    assert log.bad_status == [], f"{log.url}: error answers: {log.bad_status}"
    assert log.console_errors == [], f"{log.url}: console errors: {log.console_errors}"


_POST_CHECK = """(() => {
  const body = document.querySelector('article.post .body');
  const imgs = Array.from(document.images);
  return {
    title: document.querySelector('article.post h1').textContent,
    images: imgs.map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    code: body.querySelectorAll('pre, code').length,
    text: body.innerText,
  };
})()"""


def test_site_in_a_real_browser(site: Site) -> None:
    """Index, every post, an archive page, a category page and the search page in Chromium."""
    with cdp.Browser() as browser:
        index = browser.open(site.base + "/")
        _assert_clean_load(index, site)
        links = index.evaluate(
            "Array.from(document.querySelectorAll('ul.posts a.title')).map(a => a.pathname)"
        )
        assert sorted(links) == _post_urls(site), "the index links every post"
        thumbs = index.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
        assert thumbs and all(w > 0 for w in thumbs), "head images shown on the index"

        shot = None
        seen_titles = []
        categories: set[str] = set()
        for url in _post_urls(site):
            page = browser.open(site.base + url)
            _assert_clean_load(page, site)
            got = page.evaluate(_POST_CHECK)
            seen_titles.append(got["title"])
            broken = [i["src"] for i in got["images"] if not i["ok"]]
            assert broken == [], f"{url}: images not loaded: {broken}"
            assert got["images"], f"{url}: every sample post shows at least the QR image"
            assert got["code"] == 0, f"{url}: a code block in the post body"
            for marker in ("appendQr_wrap", "<style", "<div", "</p>", "&lt;"):
                assert marker not in got["text"], f"{url}: Sina markup shown as text: {marker}"
            categories.update(page.evaluate(
                "Array.from(document.querySelectorAll('article.post .meta a')).map(a => a.pathname)"
            ))  # fmt: skip
            if got["title"] == SHOT_TITLE:
                shot = page.screenshot(_artifact_dir() / "site-post.png")
            page.close()
        assert sorted(seen_titles) == sorted(site.titles)
        assert shot is not None and shot.stat().st_size > 10_000
        print(f"\nscreenshot of a post: {shot}")

        archive = browser.open(site.base + "/archives/")
        _assert_clean_load(archive, site)
        listed = archive.evaluate("document.querySelectorAll('ul.posts a.title').length")
        assert listed == len(site.titles)

        deepest = max(categories, key=lambda p: p.count("/"))
        category = browser.open(site.base + deepest)
        _assert_clean_load(category, site)
        listed = category.evaluate("document.querySelectorAll('ul.posts a.title').length")
        assert listed == len(site.titles), deepest

        search = browser.open(site.base + "/search/?q=" + urllib.request.quote("倒查20年"))
        _assert_clean_load(search, site)
        hits = search.evaluate(
            "Array.from(document.querySelectorAll('.search-results a')).map(a => a.textContent)"
        )
        assert hits == ['"倒查20年"，挽回损失523亿！'], hits


def test_browser_missing_fails_not_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Chromium on PATH is an error that names the package, never a skip."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("NEWSSPIDER_CHROMIUM", raising=False)
    with pytest.raises(RuntimeError, match="apt-get install -y chromium"):
        cdp.find_chromium()
    assert shutil.which("chromium") is None
