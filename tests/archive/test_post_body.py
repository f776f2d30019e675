"""Extraction hands the writer plain data: the post body as text, and the lists agree with it.

Why: the page object runs the body transform (markup/body.py) on the tree it parsed and the
Article carries the result (``body``) beside the image lists (what the images pipeline
downloads); the writer only wraps it. The body and the lists must never disagree about which
images a post shows, the Article must hold no parsed tree (it is exported, queued, compared),
and a body given as HTML text gets the same transform.
"""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest
from itemadapter import ItemAdapter
from lxml import etree

from newsspider import extract
from newsspider.archive.store import Archive
from newsspider.markup.body import (
    _Serializer,
    body_images,
    images_in,
    render_bodies,
    transform_html,
)
from newsspider.pages import FAMILIES, Probe, choose_family
from newsspider.pages.base import decode_html, parse_html, strip_dataset_wrapper

TESTS = Path(__file__).resolve().parents[1]
HTML = TESTS / "fixtures" / "corpus" / "html"
GOLDEN = TESTS / "fixtures" / "golden"
TRUTH = json.loads((TESTS / "data" / "corpus_truth.json").read_text("utf-8"))["pages"]
BASE = "https://finance.sina.com.cn/china/2021-12-02/doc-ikyamrmy6387093.shtml"


def pages() -> list[tuple[str, str, bytes]]:
    out = [
        (name, t["url"], (HTML / name).read_bytes())
        for name, t in sorted(TRUTH.items())
        if t.get("not_article") is None
    ]
    for case in sorted(GOLDEN.iterdir()):
        url = json.loads((case / "case.json").read_text("utf-8"))["url"]
        out.append((case.name, url, (case / "article.html").read_bytes()))
    return out


PAGES = pages()
GOLDEN_NAMES = {case.name for case in GOLDEN.iterdir()}


def _plain(value: object) -> bool:
    """Only strings, numbers, None, datetimes, and lists/dicts of them."""
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int, float, bool)) or hasattr(value, "tzinfo")


@pytest.mark.parametrize(("name", "url", "page"), PAGES, ids=[p[0] for p in PAGES])
def test_extraction_hands_over_plain_data_that_agrees_with_the_tree(
    name: str, url: str, page: bytes
) -> None:
    a = extract(url, page)
    assert all(_plain(v) for v in vars(a).values()), vars(a).keys()
    assert pickle.loads(pickle.dumps(a)) == a == copy.deepcopy(a)
    # the body is the transform of the tree the page object read: render that tree again
    root = parse_html(strip_dataset_wrapper(decode_html(page)[0]).encode("utf-8"))
    family = choose_family(Probe(url, root))
    if family is not None and family.family == a.family:
        rendered = render_bodies(family(url, page, root=root).containers, a.url)
        assert a.body == rendered.html
        assert a.body_images == rendered.images
        # the article's own images are the body's content images less the page's noise blocks
        assert [u for u in rendered.content_images if u in a.images] == a.images
    # the same body given as text (an Article built by hand, or read back from JSON) gets
    # the same transform: a fixed point where the serialisation round-trips
    if name in GOLDEN_NAMES:
        assert transform_html(a.body, a.url).html == a.body


def test_every_family_is_covered() -> None:
    seen = set()
    for _name, url, page in PAGES:
        seen.add(extract(url, page).family)
    assert {f.family for f in FAMILIES} <= seen


def test_the_article_is_only_its_fields() -> None:
    _, url, page = PAGES[0]
    a = extract(url, page)
    fields = ItemAdapter(a).asdict()
    assert set(vars(a)) == set(fields)
    json.dumps(fields, default=str)  # what `extract --json` and feed exports serialise


@pytest.mark.parametrize(
    "inner",
    [
        '<p>a</p><img src="//n.sinaimg.cn/a.jpg"><p><img src="/rel/b.png"></p>',
        '<noscript><img src="//n.sinaimg.cn/hidden.jpg"></noscript><img src="//x.cn/v.jpg">',
        '<script>var s = "<img src=//n.sinaimg.cn/s.jpg>";</script>',
        '<object><img src="//n.sinaimg.cn/o.jpg"></object><iframe><img src="/i.jpg"></iframe>',
        "<!-- <img src='//n.sinaimg.cn/commented.jpg'> -->",
        '<img src="data:image/png;base64,AAAA" data-src="//n.sinaimg.cn/lazy.jpg">',
        '<img src="javascript:alert(1)" data-original="//n.sinaimg.cn/real.gif">',
        '<img data-src="//n.sinaimg.cn/nosrc.webp"><img src="">',
        '<img src="//i1.sinaimg.cn/home/c.gif"><img src="//n.sinaimg.cn/a.jpg">',
        '<div class="appendQr_wrap"><img src="//n.sinaimg.cn/qr.png"></div>',
        '<div id="Video_Cont"><img src="//n.sinaimg.cn/poster.jpg"></div>',
        '<scr<script>ipt><img src="//n.sinaimg.cn/odd.jpg"></scr<script>',
        '<img src="//n.sinaimg.cn/a.jpg"><img src="https://n.sinaimg.cn/a.jpg">',
        '<img onerror="x()" src="//n.sinaimg.cn/on.jpg" srcset="a.jpg 1x">',
    ],
)
def test_body_images_are_what_the_serialiser_shows(inner: str) -> None:
    root = etree.fromstring(
        f"<html><body><div id='b'>{inner}</div></body></html>", etree.HTMLParser()
    )
    container = root.find(".//div[@id='b']")
    rendered = render_bodies([container], BASE)
    assert body_images([container], BASE) == (rendered.images, rendered.content_images)
    # images_in (a page object's noise blocks) agrees with serialising those elements
    elements = list(container.iter())[1:]
    serialiser = _Serializer(BASE)
    for el in elements:
        serialiser.node(el)
    assert images_in(elements, BASE) == serialiser.images


def test_the_archive_writes_the_body_from_the_tree_extraction_parsed(tmp_path: Path) -> None:
    """A link the page writes with a trailing space: the tree holds it as written and the body
    transform strips it, as a browser does (lxml's own serialisation would encode it as
    ``%20``). The post written from an extracted Article is the tree's."""
    case = GOLDEN / "seed-digital-governance"
    url = json.loads((case / "case.json").read_text("utf-8"))["url"]
    text = (case / "article.html").read_text("utf-8")
    start = text.index(">", text.index('id="artibody"')) + 1
    link = '<p><a href="https://finance.sina.com.cn/x/y.shtml ">相关链接</a></p>'
    a = extract(url, (text[:start] + link + text[start:]).encode("utf-8"))
    assert 'href="https://finance.sina.com.cn/x/y.shtml"' in a.body
    saved = Archive(tmp_path, images="remote").save(a)
    post = (tmp_path / saved.path).read_text("utf-8")
    assert 'href="https://finance.sina.com.cn/x/y.shtml"' in post and "%20" not in post
