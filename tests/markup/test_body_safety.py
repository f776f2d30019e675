"""The body removal list of docs/FORMAT.md ("Body safety"), rule by rule, on the real parse path.

Why: the hostile crawl (tests/hostile/test_browser_oracle.py) shows the whole path is safe; these
pin each rule on its own, with the exact bytes, so that a change to one is seen where it is.
Pages go through ``pages.base.parse_html`` (which runs the pre-pass) as extraction does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from newsspider import NotAnArticle, extract
from newsspider.markup.body import (
    body_images,
    css_unsafe,
    html5_prepass,
    render_body,
    transform_html,
)
from newsspider.pages.base import paragraph_lines, parse_html

BASE = "https://finance.sina.com.cn/china/2021-12-02/doc-ikyamrmy6387093.shtml"


def body(inner: str, *, after: str = "") -> str:
    page = f"<html><body><div id='b'>{inner}</div>{after}</body></html>".encode()
    root = parse_html(page)
    return render_body(root.find(".//div[@id='b']"), BASE).html


def test_svg_and_math_go_with_their_content() -> None:
    assert body("<p>a</p><svg><g><text>t</text></g></svg><p>b</p>") == "<p>a</p><p>b</p>"
    assert body("<p>a</p><math><mi>x</mi></math>tail") == "<p>a</p>tail"
    # raw text that a browser parses as markup there goes too
    assert body("<svg><style><img src=x onerror=alert(1)></style></svg><p>b</p>").endswith(
        "<p>b</p>"
    )
    assert "onerror" not in body("<math><style><img src=x onerror=alert(1)></style></math>")


def test_what_a_browser_puts_after_an_unclosed_svg_stays() -> None:
    out = body("<p>a</p><svg><g><p>after</p><p>more</p>")
    assert out == "<p>a</p><p>after</p><p>more</p>"
    # inside an integration point HTML stays inside the SVG: it goes with it
    assert body("<svg><foreignObject><p>in</p></foreignObject></svg><p>b</p>") == "<p>b</p>"


def test_an_unclosed_raw_text_element_in_svg_does_not_swallow_the_page() -> None:
    out = body("<p>a</p><svg><style>x{}", after="<p>footer</p><script>s()</script>")
    assert out == "<p>a</p>"
    out = body("<svg><title><b>t</b></title></svg><p>b</p>")
    assert out == "<p>b</p>"


def test_object_applet_unwrapped_param_dropped() -> None:
    assert body("<object data=x><param name=a value=b><p>fb</p></object><p>b</p>") == (
        "<p>fb</p><p>b</p>"
    )
    assert body("<applet code=x><p>fb</p></applet>") == "<p>fb</p>"
    # never closed: it ends with its container, its content stays
    assert body("<p>a</p><object data=x><p>b</p><p>c</p>") == "<p>a</p><p>b</p><p>c</p>"


def test_embed_is_void_and_swallows_nothing() -> None:
    assert body("<p>a</p><embed src=x><p>b</p><p>c</p>") == "<p>a</p><p>b</p><p>c</p>"
    assert body("<p>a<embed src=x>b</p>") == "<p>ab</p>"


def test_plaintext_tag_taken_out_container_keeps_its_extent() -> None:
    out = body("<p>a</p><plaintext><p>b</p>", after="<p>footer</p><script>s()</script>")
    assert out == "<p>a</p><p>b</p>"
    assert body("<p>a</p><PlainText>b") == "<p>a</p>b"


@pytest.mark.parametrize("tag", ["noscript", "noembed", "noframes", "iframe", "script"])
def test_raw_text_elements_removed_with_content(tag: str) -> None:
    assert body(f"<p>a</p><{tag}><img src=x onerror=alert(1)></{tag}><p>b</p>") == (
        "<p>a</p><p>b</p>"
    )


def test_xmp_content_is_escaped_text() -> None:
    # a browser shows an <xmp>'s raw text as it is, "&amp;" included: so does the post
    assert body("<xmp><b>x</b> &amp;</xmp>") == "&lt;b>x&lt;/b> &amp;amp;"


def test_style_entities_never_become_tags() -> None:
    assert body("<p>a</p><style>p{} &lt;img src=x&gt;</style>") == (
        "<p>a</p><style>p{} &lt;img src=x></style>"
    )


def test_link_meta_base_and_animations_go() -> None:
    out = body(
        "<p>a</p><link rel=stylesheet href=//evil.example/x.css><meta charset=utf-8>"
        "<base href=//evil.example/><animate attributeName=href values=javascript:x>t</animate>"
        "<set attributeName=xlink:href to=javascript:x>"
    )
    assert out == "<p>a</p>t"


def test_attributes_dropped_and_kept() -> None:
    out = body(
        '<p onclick="x" http-equiv="refresh" data-x="1" cms-style="font-L" alt>p</p>'
        '<a href="mailto:a@b.c">m</a><a href="ftp://x/">f</a><a href="#top">t</a>'
        '<img src="https://n.sinaimg.cn/a.jpg" srcset="a.jpg 1x, javascript:x 2x">'
        '<img src="https://n.sinaimg.cn/b.jpg" srcset="//n.sinaimg.cn/b2.jpg 2x">'
        "<a href=/x ping='javascript:x'>p</a><q cite='vbscript:x'>q</q>"
        "<img src=https://n.sinaimg.cn/c.jpg dynsrc='javascript:x' lowsrc='data:x'>"
    )
    assert out == (
        '<p data-x="1" cms-style="font-L" alt>p</p>'
        "<a>m</a><a>f</a>"
        f'<a href="{BASE}#top">t</a>'
        '<img src="https://n.sinaimg.cn/a.jpg" referrerpolicy="no-referrer">'
        '<img src="https://n.sinaimg.cn/b.jpg" srcset="//n.sinaimg.cn/b2.jpg 2x"'
        ' referrerpolicy="no-referrer">'
        '<a href="https://finance.sina.com.cn/x">p</a><q>q</q>'
        '<img src="https://n.sinaimg.cn/c.jpg" referrerpolicy="no-referrer">'
    )


@pytest.mark.parametrize(
    "css",
    [
        "width:expression(alert(1))",
        "width:\\65xpression(alert(1))",
        "width:exp/**/ression(alert(1))",
        "width:ex\\pr\\65 ssion(1)",
        "background:url(//evil.example.com/x.png)",
        "background:url('https://evil.example.com/x.png')",
        "background:u\\72l(https://evil.example.com/x)",
        "background:url(\\\\evil.example.com/x)",
        "background:url(javascript:alert(1))",
        "background:url(data:image/svg+xml,x)",
        "behavior:url(x.htc)",
        "-moz-binding:url(x.xml#a)",
        "@import 'x.css'",
        "@\\69mport 'x.css'",
        "background:image-set('https://evil.example.com/a.png' 1x)",
        "filter:progid:DXImageTransform.Microsoft.AlphaImageLoader(src='x')",
        "background:url(https://evil.example.com.sina.com.evil/x)",
    ],
)
def test_css_that_loads_or_runs_is_unsafe(css: str) -> None:
    assert css_unsafe(css)
    assert css_unsafe(css.replace("(", "&#40;"))  # entity-encoded, as a page may hold it


@pytest.mark.parametrize(
    "css",
    [
        ".appendQr_wrap{border:1px solid #E6E6E6;padding:8px;}",
        "color:red; font-size:14px",
        "background:url(//n.sinaimg.cn/a.png)",
        "background:url(https://finance.sina.com.cn/a.png)",
        "background:url(/img/a.png)",
        "background:url(a.png)",
    ],
)
def test_plain_and_same_site_css_is_kept(css: str) -> None:
    assert not css_unsafe(css)


def test_unsafe_css_removed_whole_safe_css_byte_for_byte() -> None:
    out = body(
        '<p style="background:url(//evil.example/x)">a</p><style>@import "x";</style>'
        '<p style="color:red">b</p><style>.k{color:red}</style>'
    )
    assert out == '<p>a</p><p style="color:red">b</p><style>.k{color:red}</style>'


def test_prepass_leaves_other_pages_alone_and_skips_raw_text() -> None:
    page = b"<p>a</p><script>'<svg><style>'</script><style>svg{}</style>"
    assert html5_prepass(page) is page
    text = "<svg><style>a</style></svg><style>b</style><!-- <svg><style> -->"
    assert html5_prepass(text) == (
        "<svg><newsspider-raw-style>a</newsspider-raw-style></svg><style>b</style>"
        "<!-- <svg><style> -->"
    )
    # a <style> inside an integration point is HTML: lxml's raw reading is right there
    kept = "<math><mtext><table><mglyph><style><!--</style></table></mtext></math>"
    assert html5_prepass(kept) == kept


def test_a_body_given_as_text_gets_the_same_treatment() -> None:
    out = transform_html("<p>a</p><svg><style><img src=x onerror=alert(1)>", BASE).html
    assert "onerror" not in out and out.startswith("<p>a</p>")


def test_lxml_alone_would_have_lost_the_text() -> None:
    """Why the pre-pass exists: without it lxml reads an unclosed ``<svg><style>`` as raw text
    to the end of the page."""
    raw = etree.fromstring(
        b"<html><body><div id='b'><svg><style>x<p>kept</p></div></body></html>",
        etree.HTMLParser(),
    )
    assert "kept" not in "".join(raw.find(".//div[@id='b']").itertext()).replace("<p>kept", "")
    assert body("<svg><style>x<p>kept</p>") == "<p>kept</p>"


@pytest.mark.parametrize(
    "inner",
    [
        "<svg><g><img src='https://n.sinaimg.cn/in.jpg'></g></svg>",
        "<svg><g><p>out<img src='https://n.sinaimg.cn/out.jpg'></p></g>",
        "<svg><foreignObject><img src='https://n.sinaimg.cn/fo.jpg'></foreignObject></svg>",
        "<svg><desc>d</desc><b>x</b><g><img src='https://n.sinaimg.cn/after.jpg'></g>",
        "<object data=x><img src='https://n.sinaimg.cn/fallback.jpg'></object>",
        "<xmp><img src='https://n.sinaimg.cn/text.jpg'></xmp>",
    ],
)
def test_the_image_lists_follow_the_serialiser(inner: str) -> None:
    """body_images (what gets downloaded, headimg) sees exactly the images the body shows."""
    page = f"<html><body><div id='b'><p>a</p>{inner}<p>z</p></div></body></html>".encode()
    container = parse_html(page).find(".//div[@id='b']")
    rendered = render_body(container, BASE)
    shown, content = body_images([container], BASE)
    assert shown == rendered.images and content == rendered.content_images
    assert all(u in rendered.html for u in shown)
    # an <img> leaves SVG in a browser (shown); inside <foreignObject> it stays in it (gone);
    # inside <xmp> it is text
    assert ("in.jpg" in rendered.html) == ("in.jpg" in inner)
    assert "fo.jpg" not in rendered.html and 'text.jpg"' not in rendered.html


def test_article_text_agrees_with_the_post_about_embed_object_svg() -> None:
    """Article.paragraphs (search index, empty-body refusal) reads what the post shows: text
    after a void <embed> and a plugin's fallback text count, an SVG's text does not."""
    root = parse_html(
        b"<html><body><p>a<embed src=x>b</p><p>c<svg><text>t</text></svg>d</p>"
        b"<p>e<object data=x>f</object></p></body></html>"
    )
    assert [paragraph_lines(p) for p in root.iter("p")] == [["ab"], ["cd"], ["ef"]]


def test_a_noscript_ends_where_a_browser_ends_it() -> None:
    """lxml reads <noscript> as markup; a browser (scripting on) as raw text to the first
    </noscript>. A nested one would otherwise carry the article's text away with it."""
    out = body("<p>a</p><noscript><noscript><img src=x></noscript>x</noscript><p>b</p>")
    assert out == "<p>a</p>x<p>b</p>"
    out = body('<p>a</p><noscript><p title="</noscript><p>b</p>"><p>c</p>')
    assert "onerror" not in out and out.startswith("<p>a</p>") and "<p>c</p>" in out
    # an ordinary one is left to lxml (no second parse) and dropped by the serialiser
    assert body("<p>a</p><noscript><img src=x></noscript><p>b</p>") == "<p>a</p><p>b</p>"


_REGION_CASES = [
    "<svg><style><img src=x onerror=alert(1)>",
    "<plaintext><p>after</p>",
    "<noscript><noscript>x</noscript><p>after</p>",
    "<math><mtext><table><mglyph><style><!--</style><img title='--&gt;'></table></mtext></math>",
    "<embed src=x><p>after</p>",
    "<object data=x><p>after</p>",
]


@pytest.mark.parametrize("snippet", _REGION_CASES)
@pytest.mark.parametrize("where", ["start", "middle", "before-headline"])
def test_the_stretch_and_the_whole_page_agree_on_hostile_markup(snippet: str, where: str) -> None:
    """pages/region.py parses the article's stretch, the fallback the whole page: the pre-pass
    runs on either, so both give the same Article and the same post body."""
    case = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "seed-digital-governance"
    url = json.loads((case / "case.json").read_text("utf-8"))["url"]
    text = (case / "article.html").read_text("utf-8")
    start = text.index(">", text.index('id="artibody"')) + 1
    pos = {"start": start, "middle": text.index("</p>", start) + 4}.get(where, text.index("<h1"))
    page = (text[:pos] + snippet + text[pos:]).encode()
    got = []
    for whole in (False, True):
        try:
            article = extract(url, page, "text/html", whole_page=whole)
            got.append((article, article.body))
        except NotAnArticle as exc:
            got.append(("refused", exc.reason))
    assert got[0] == got[1]
