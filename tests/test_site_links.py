"""Links that work for every title, through the permalink ``site init`` writes.

Why: under Hexo's default ``:year/:month/:day/:title/`` a title with ``%`` (every other financial
headline) got a garbled href that answered 404. ``:hash`` makes every link 12 hex digits under
the date, whatever the title. Posts with hostile titles are written by the archive writer itself
(``Archive.save``: the same code a crawl runs, minus the network), so their file names are what
FORMAT.md fixes; the site is then generated with ``npm run build`` and served on 127.0.0.1, and
every link on the index, archive and category pages must answer 200 with the right post.
"""

from __future__ import annotations

import dataclasses
import html
import re
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import hexo
import pytest
from conftest import golden_cases, run_newsspider

from newsspider import extract
from newsspider.archive.channels import load_channels
from newsspider.archive.names import name_stem
from newsspider.archive.post import normalize_title
from newsspider.archive.store import Archive

pytestmark = pytest.mark.hexo

TITLES = (
    "1-4月份全国居民消费价格（CPI）同比上涨1.4%",
    "上涨100%？还是下跌50%",
    "%E4%B8%AD 看起来已经编码过的标题",
    "#港股# 恒指收涨 #1 话题",
    "问号? 与 a?b=c&d=e 查询",
    "引号 \"双引号\" 与 '单引号' 混用",
    "“中文引号”与「直角引号」『双直角』",
    "多个   空格  和\t制表符",
    "全角标点：（括号）【方括号】《书名》，。！；",
    "斜杠 a/b 与反斜杠 c\\d: <尖括号> | [方] * 星号",
    "{{ nunjucks }} {% raw %} 花括号",
    "&amp; 实体 &lt;b&gt; 与 <b>标签</b>",
    "../../etc/passwd",
    "_下划线开头的标题",
    "超长标题" * 60,
)
SITE_TITLE = "links test"
_TITLE_TAG = re.compile(r"<title>(.*?)</title>", re.S)
_LIST_LINK = re.compile(r'<a class="title" href="([^"]*)">(.*?)</a>', re.S)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, dict[str, str]]]:
    root = tmp_path_factory.mktemp("links") / "site"
    assert run_newsspider("site", "init", str(root), "--title", SITE_TITLE).returncode == 0
    case = next(c for c in golden_cases() if c.name == "cpi-jan-apr-noimg")
    page = next(p for p in case.dir.iterdir() if p.suffix in (".html", ".shtml"))
    base = extract(case.url, page.read_bytes())
    archive = Archive(root / "source", channels=load_channels(), images="local", compact=True)
    paths: dict[str, str] = {}
    try:
        for i, title in enumerate(TITLES):
            article = dataclasses.replace(
                base,
                title=title,
                doc_id=f"links{i:04d}",
                url=f"https://finance.sina.com.cn/china/2022-05-16/doc-ilinks{i:04d}.shtml",
                created_at=base.created_at + timedelta(minutes=i) if base.created_at else None,
            )
            paths[title] = archive.save(article).path
    finally:
        archive.close()
    build = hexo.build_site(root)
    hexo.assert_clean(build)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(_Quiet, directory=str(root / "public")))  # fmt: skip
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_file_names_stay_as_format_md_fixes_them(site: tuple[Path, str, dict[str, str]]) -> None:
    root, _, paths = site
    folder = "_posts/金融/新浪财经/新浪财经－国內/"
    for title, path in paths.items():
        assert path == f"{folder}{name_stem(title, '')}.md", title
        assert (root / "source" / path).is_file()


@pytest.mark.parametrize(
    "listing", ["/", "/archives/", "/categories/金融/新浪财经/新浪财经－国內/"]
)
def test_every_listed_link_opens_its_post(site: tuple[Path, str, dict[str, str]],
                                          listing: str) -> None:  # fmt: skip
    _, base, _ = site
    status, text = _get(base + urllib.request.quote(listing))
    assert status == 200, listing
    links = _LIST_LINK.findall(text)
    shown = {html.unescape(label).strip(): href for href, label in links}
    assert set(shown) == {normalize_title(t) for t in TITLES}, listing
    for title, href in shown.items():
        assert re.fullmatch(r"/\d{4}/\d{2}/\d{2}/[0-9a-f]{12}/", href), (title, href)
        status, page = _get(base + href)
        assert status == 200, (title, href)
        m = _TITLE_TAG.search(page)
        assert m and html.unescape(m.group(1)).strip() == f"{title} | {SITE_TITLE}", unquote(href)


def test_feed_and_search_show_every_title_as_written(
    site: tuple[Path, str, dict[str, str]],
) -> None:
    """Braces escaped for Nunjucks in the posts come back as braces for readers (the theme's
    scripts/titles.js), in the feed and the search index too."""
    import json
    import xml.etree.ElementTree as ET

    root, _, _ = site
    wanted = {normalize_title(t) for t in TITLES}
    index = json.loads((root / "public" / "search.json").read_text("utf-8"))
    assert {item["title"] for item in index} == wanted
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(root / "public" / "atom.xml").getroot()
    assert {e.findtext("a:title", "", ns) for e in feed.findall("a:entry", ns)} == wanted
