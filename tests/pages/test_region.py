"""Parsing the article's stretch of a page gives the same Article as parsing the whole page.

Why: ``pages/region.py`` cuts the headline-to-keywords stretch out of a page with substring
searches before anything is parsed (that is most of why extraction costs less than a bare lxml
parse of the page). A misjudged cut would silently lose text or fields, so every saved page and
a set of pages built to confuse the cut (markup inside scripts, comments, attributes and
textareas, HTML5 comment forms, unclosed and stray tags) are extracted both ways and compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from newsspider import Article, NotAnArticle, extract
from newsspider.pages.base import META_NAMES
from newsspider.pages.region import META_NEEDLES, article_fragment, element_end

TESTS = Path(__file__).resolve().parents[1]
HTML = TESTS / "fixtures" / "corpus" / "html"
GOLDEN = TESTS / "fixtures" / "golden"
TRUTH = json.loads((TESTS / "data" / "corpus_truth.json").read_text("utf-8"))["pages"]


def both_ways(url: str, page: bytes) -> tuple[Article | str, Article | str]:
    """(stretch-first result, whole-page result): an Article, or the refusal's reason."""
    out: list[Article | str] = []
    for whole in (False, True):
        try:
            out.append(extract(url, page, "text/html", whole_page=whole))
        except NotAnArticle as exc:
            out.append(f"refused: {exc.reason}")
    return out[0], out[1]


def saved_pages() -> list[tuple[str, str, bytes]]:
    pages = [
        (name, TRUTH[name]["url"], (HTML / name).read_bytes())
        for name in sorted(TRUTH)
        if (HTML / name).is_file()
    ]
    for case in sorted(GOLDEN.iterdir()):
        url = json.loads((case / "case.json").read_text("utf-8"))["url"]
        pages.append((case.name, url, (case / "article.html").read_bytes()))
    return pages


SAVED = saved_pages()


@pytest.mark.parametrize(("name", "url", "page"), SAVED, ids=[p[0] for p in SAVED])
def test_saved_pages_read_the_same_from_the_stretch(name: str, url: str, page: bytes) -> None:
    stretch, whole = both_ways(url, page)
    assert stretch == whole


def test_the_stretch_is_what_gets_parsed_on_every_template_with_a_headline() -> None:
    """The optimisation must not be silently off: every saved article page of the families
    with a headline element (all but the 2005 table layout) is cut, to a fraction of itself."""
    cut = 0
    for name, _, page in SAVED:
        family = TRUTH.get(name, {}).get("family")
        if family in (None, "L1") and name in TRUTH:
            continue
        fragment = article_fragment(page)
        assert fragment is not None, name
        assert len(fragment) < 0.5 * len(page) or len(page) < 40_000, name
        cut += 1
    assert cut >= 18


def _golden() -> tuple[str, str]:
    case = GOLDEN / "seed-digital-governance"
    url = json.loads((case / "case.json").read_text("utf-8"))["url"]
    return url, (case / "article.html").read_text("utf-8")


def _insert(text: str, snippet: str, where: str) -> str:
    start = text.index(">", text.index('id="artibody"')) + 1
    if where == "start":
        pos = start
    elif where == "middle":
        pos = text.index("</p>", start) + 4
    elif where == "before-headline":
        pos = text.index("<h1")
    else:  # after the body container's last paragraph
        pos = text.rindex("</p>", start, text.index('id="article-bottom"')) + 4
    return text[:pos] + snippet + text[pos:]


#: markup that a text scan could take for tags, and tags that change how a scan must count
CONFUSERS = [
    "<script>document.write('<div><div>');</script>",
    "<script>var s = '</div></div></div>';</script>",
    "<SCRIPT>var s = '</div>';</SCRIPT>",
    "<script>var a = '<!--';</script><p>after</p>",
    "<style>div::after { content: '</div>'; }</style>",
    "<!-- <div> unclosed in a comment -->",
    "<!-- </div></div> -->",
    "<!--> <p>an empty comment, then text</p> -->",
    "<!---> <p>another empty comment</p>",
    "<!-- ends early --!> <div>opened</div>",
    '<p title="</div></div>">an attribute holds an end tag</p>',
    '<p title="<div><div>">an attribute holds start tags</p>',
    "<textarea></div></div></textarea>",
    "<textarea><div><div></textarea>",
    "<div/>self-closed",
    "<div>never closed",
    "</div>",
    "</div></div></div>",
    "<DIV>upper</DIV>",
    "<Div>mixed</Div>",
    "<divx>not a div</divx><div-x>nor this</div-x>",
    "<xmp></div></xmp>",
    "<noscript><div></noscript>",
    '<div id="artibody"><p>a second container</p></div>',
    '<div class="article-bottom">a keyword block inside the body</div>',
    '<h1 class="main-title">a second headline</h1>',
    '<!-- <h1 class="main-title">a commented headline</h1> -->',
    "<plaintext>",
]
PLACES = ("start", "middle", "end", "before-headline")


@pytest.mark.parametrize("where", PLACES)
@pytest.mark.parametrize("snippet", CONFUSERS)
def test_confusing_markup_reads_the_same_both_ways(snippet: str, where: str) -> None:
    url, text = _golden()
    page = _insert(text, snippet, where).encode("utf-8")
    stretch, whole = both_ways(url, page)
    assert stretch == whole


def test_blocks_kilobytes_away_from_the_article_read_the_same() -> None:
    """A breadcrumb 3.5 KB above the headline and a keyword block 3.5 KB below the body (the corpus
    has them within 2.5 KB) are still inside the windows the stretch is looked for in."""
    url, text = _golden()
    filler = "<div class='ad'><p>" + "广告" * 580 + "</p></div>"
    crumb_end = text.index("</div>", text.index('class="channel-path"')) + 6
    moved = text[:crumb_end] + filler + text[crumb_end:]
    bottom = moved.index('<div class="article-bottom clearfix" id="article-bottom"')
    moved = moved[:bottom] + filler + moved[bottom:]
    page = moved.encode("utf-8")
    assert article_fragment(page) is not None
    stretch, whole = both_ways(url, page)
    assert isinstance(stretch, Article) and stretch.breadcrumb and stretch == whole


@pytest.mark.parametrize(
    "html",
    [
        (b"<div id=a><div>x</div><div>y</div></div>tail"),
        (b"<div id=a><!-- </div> --></div>tail"),
        (b"<div id=a><script>'</div>'</script></div>tail"),
        (b"<div id=a><SCRIPT>'</div>'</SCRIPT></div>tail"),
        (b"<div id=a><div/></div>tail"),
        (b"<div id=a><!--></div>tail"),
        (b"<div id=a><!-- x --!></div>tail"),
        (b"<div id=a><divx></div>tail"),
    ],
)
def test_element_end_counts_like_the_parser(html: bytes) -> None:
    """The end found is where libxml2 closes the outer div: its tail text follows."""
    assert element_end(html, 0, b"div") == html.index(b"tail")
    outer = etree.fromstring(html, etree.HTMLParser()).find(".//div[@id='a']")
    assert outer.tail == "tail"


@pytest.mark.parametrize(
    "html",
    [
        b"<div id=a><div>never closed</div>",
        b"<div id=a><DIV>x</DIV></div>",
        b"<div id=a><!-- never ends </div>",
        b"<div id=a><script>never ends</div>",
    ],
)
def test_element_end_gives_up_where_it_cannot_tell(html: bytes) -> None:
    assert element_end(html, 0, b"div") == -1


def test_the_stretch_keeps_every_meta_tag_a_page_object_reads() -> None:
    assert all(any(n in name.encode() for n in META_NEEDLES) for name in META_NAMES)
    url, text = _golden()
    page = text.replace("<head>", '<head><meta name="Keywords" content="甲,乙">', 1).encode()
    stretch, whole = both_ways(url, page)
    assert isinstance(stretch, Article) and stretch == whole


def test_pages_without_a_known_headline_are_parsed_whole() -> None:
    plain_h1 = b"<html><body><h1>x</h1><div id='artibody'></div></body></html>"
    assert article_fragment(plain_h1) is None
    assert article_fragment(b"<html><body><p>no headline</p></body></html>") is None
    _, text = _golden()
    assert article_fragment(text.encode()) is not None
    unterminated = text.replace("</body>", "<!-- never closed </body>").encode()
    assert article_fragment(unterminated) is None
