"""Each body rule of FORMAT.md on its own (the golden cases pin only the common ones)."""

from __future__ import annotations

import lxml.html
import pytest

from newsspider.archive.post import relink_images
from newsspider.markup.body import render_body

BASE = "https://finance.sina.com.cn/china/2021-12-02/doc-ikyamrmy6387093.shtml"


def body(inner: str, base: str = BASE) -> str:
    doc = lxml.html.document_fromstring(f"<html><body><div id='b'>{inner}</div></body></html>")
    return render_body(doc.get_element_by_id("b"), base).html


def images(inner: str) -> tuple[list[str], list[str]]:
    doc = lxml.html.document_fromstring(f"<html><body><div id='b'>{inner}</div></body></html>")
    b = render_body(doc.get_element_by_id("b"), BASE)
    return b.images, b.content_images


def test_leading_whitespace_comments_and_head_elements_dropped() -> None:
    assert body("\n\t <!-- x --> \n<style>p{}</style>\n<p>a</p>\n") == "<p>a</p>\n"
    assert body("  text <b>x</b>") == "text <b>x</b>"
    assert body("<p>a</p><!-- tail -->\n\n") == "<p>a</p><!-- tail -->\n\n"


def test_scripts_removed_text_around_stays() -> None:
    assert body("<p>a</p>\n<script>alert(1)</script>\n<!-- c -->") == "<p>a</p>\n\n<!-- c -->"


@pytest.mark.parametrize(
    "tag", ["iframe", "object", "embed", "applet", "frame", "frameset", "base", "noscript"]
)
def test_active_elements_removed(tag: str) -> None:
    out = body(f"<p>a</p><{tag} src='x'>inner</{tag}><p>b</p>")
    assert f"<{tag}" not in out and "<p>a</p>" in out and "<p>b</p>" in out


def test_event_handlers_srcdoc_formaction_removed() -> None:
    out = body('<p onclick="x()" ONMOUSEOVER="y" class="k">a</p><button formaction="z">b</button>')
    assert out == '<p class="k">a</p><button>b</button>'


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JaVaScRiPt:x", " java\tscript:x", "&#106;avascript:x",
     "java&#x0A;script:x", "vbscript:x", "data:text/html,x", "\x01javascript:x"],
)  # fmt: skip
def test_dangerous_urls_removed(url: str) -> None:
    out = body(f'<a href="{url}">a</a><form action="{url}"></form><video poster="{url}"></video>')
    assert out == "<a>a</a><form></form><video></video>"


def test_urls_resolved_like_a_browser() -> None:
    out = body('<a href="http://tousu.sina.com.cn">t</a><a href="/x?a=1&amp;b=2">r</a>'
               '<img src="//n.sinaimg.cn/a.jpg">')  # fmt: skip
    assert out == (
        '<a href="http://tousu.sina.com.cn/">t</a>'
        '<a href="https://finance.sina.com.cn/x?a=1&b=2">r</a>'
        '<img src="https://n.sinaimg.cn/a.jpg" referrerpolicy="no-referrer">'
    )


def test_anchor_without_href_stays_without() -> None:
    assert body("<a name='x'>a</a>") == '<a name="x">a</a>'


def test_lazy_images() -> None:
    # no src: the real URL is appended after the other attributes
    assert body('<img class="l" data-src="//n.sinaimg.cn/a.png" alt="">') == (
        '<img class="l" data-src="//n.sinaimg.cn/a.png" alt src="https://n.sinaimg.cn/a.png"'
        ' referrerpolicy="no-referrer">'
    )
    # data: placeholder in src: replaced in place
    assert body(
        '<img src="data:image/png;base64,AAAA" data-src="https://n.sinaimg.cn/b.webp">'
    ) == (
        '<img src="https://n.sinaimg.cn/b.webp" data-src="https://n.sinaimg.cn/b.webp"'
        ' referrerpolicy="no-referrer">'
    )
    # data: placeholder and nothing better: src removed
    assert body('<img src="data:image/gif;base64,R0lG" alt="x">') == (
        '<img alt="x" referrerpolicy="no-referrer">'
    )


def test_referrerpolicy_last_and_single() -> None:
    assert body('<img referrerpolicy="origin" src="https://a/x.jpg" id="0">') == (
        '<img src="https://a/x.jpg" id="0" referrerpolicy="no-referrer">'
    )


def test_serialisation_characters_as_characters() -> None:
    out = body("<p title='&ldquo;q&rdquo;'>&nbsp;&#12288;&ldquo;x&rdquo; a&gt;b</p><br/><hr />")
    assert out == '<p title="“q”">\xa0　“x” a>b</p><br><hr>'


def test_fix_escapes_where_decoding_would_make_markup() -> None:
    assert body("<p>&lt;script&gt;x&lt;/script&gt;</p>") == "<p>&lt;script>x&lt;/script></p>"
    assert body('<p title="a &quot;b&quot;">x</p>') == '<p title="a &quot;b&quot;">x</p>'
    assert body("<p>&amp;amp; &amp;#123; &amp;x AT&amp;T</p>") == (
        "<p>&amp;amp; &amp;#123; &x AT&T</p>"
    )
    # in attributes a legacy name followed by '=' is not a reference: stays a bare &
    assert body('<a href="https://a/?x=1&amp;copy=2&amp;lt;">l</a>') == (
        '<a href="https://a/?x=1&copy=2&amp;lt;">l</a>'
    )


def test_comments_verbatim_but_decoded_safely() -> None:
    assert body("<p>a</p><!-- &ldquo;x&rdquo; &amp; <img src=x> -->") == (
        "<p>a</p><!-- “x” & <img src=x> -->"
    )
    assert body("<p>a</p><!-- x --&gt; <script>y</script> -->") == (
        "<p>a</p><!-- x --&gt; <script>y</script> -->"
    )


def test_style_decoded_but_cannot_close_early() -> None:
    out = body("<p>a</p><style>.a{content:'&amp;'} &lt;/style&gt;<script>x</script></style>")
    assert out == "<p>a</p><style>.a{content:'&'} &lt;/style><script>x</script></style>"


def test_empty_attributes_bare_and_order_kept() -> None:
    assert body('<img id="0" src="https://a/b.jpg" alt="" data-link="">') == (
        '<img id="0" src="https://a/b.jpg" alt data-link referrerpolicy="no-referrer">'
    )


def test_content_images_skip_boilerplate_and_comments() -> None:
    all_, content = images(
        '<!-- <img src="//n.sinaimg.cn/c.jpg"> -->'
        '<div class="video-2017"><img src="//n.sinaimg.cn/poster.jpg"></div>'
        '<p><img src="//n.sinaimg.cn/real.gif"></p>'
        '<div class="clearfix appendQr_wrap"><img src="https://n.sinaimg.cn/qr.png"></div>'
        '<div class="app-kaihu-qr"><img src="https://n.sinaimg.cn/kaihu.png"></div>'
    )
    assert all_ == [
        "https://n.sinaimg.cn/poster.jpg",
        "https://n.sinaimg.cn/real.gif",
        "https://n.sinaimg.cn/qr.png",
        "https://n.sinaimg.cn/kaihu.png",
    ]
    assert content == ["https://n.sinaimg.cn/real.gif"]


def test_relink_touches_only_real_img_tags() -> None:
    html = body(
        '<p title="<img src=&quot;https://n.sinaimg.cn/a.jpg&quot;>">x</p>'
        '<img src="//n.sinaimg.cn/a.jpg" alt="a">'
        '<!-- <img src="https://n.sinaimg.cn/a.jpg"> -->'
    )
    out = relink_images(html, {"https://n.sinaimg.cn/a.jpg": "/images/n.sinaimg.cn/a.jpg"})
    assert out.count("/images/n.sinaimg.cn/a.jpg") == 1
    assert '<img src="/images/n.sinaimg.cn/a.jpg" alt="a" referrerpolicy="no-referrer">' in out
    assert relink_images(out, {"/images/n.sinaimg.cn/a.jpg": "https://n.sinaimg.cn/a.jpg"}) == html


def test_meta_http_equiv_removed_anywhere() -> None:
    out = body('<p>a</p><meta http-equiv="refresh" content="0;url=https://evil.example/"><p>b</p>')
    assert out == "<p>a</p><p>b</p>"
