"""The plain text the index stores: the fast tokenizer gives exactly what html.parser gives."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from newsspider.archive.plaintext import _parser_parts, _plain_parts, html_text
from newsspider.archive.post import Post, render
from newsspider.pages import NotAnArticle, extract

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def reference(body: str) -> str:
    """html_text as it was: html.parser only."""
    lines = (" ".join(line.split()) for line in "".join(_parser_parts(body)).split("\n"))
    return "\n".join(line for line in lines if line)


def page_bodies() -> list[tuple[str, str]]:
    pages = [(p.parent.name, p, "https://finance.sina.com.cn/x/doc-iaaaaaaa0001.shtml")
             for p in sorted((FIXTURES / "golden").glob("*/article.html"))]  # fmt: skip
    pages += [(p.name, p, "https://finance.sina.com.cn/x/doc-iaaaaaaa0001.shtml")
              for p in sorted((FIXTURES / "corpus").rglob("*.html"))]  # fmt: skip
    out = []
    for name, path, url in pages:
        case = path.parent / "case.json"
        if case.exists():
            url = json.loads(case.read_text("utf-8")).get("url", url)
        try:
            article = extract(url, path.read_bytes(), None)
        except NotAnArticle:
            continue
        out.append((name, article.body))
        out.append(
            (
                name + " (post)",
                render(
                    Post(
                        title="t",
                        categories=["c"],
                        image="",
                        author="a",
                        date="d",
                        body=article.body,
                    )
                ),
            )
        )
    return out


PAGES = page_bodies()

SYNTHETIC = [
    "",
    "plain text only",
    "<p>　　释放长期资金约1万亿元，100% 完成。</p>",
    "<p>a &amp; b &lt;c&gt; &#123; &#x7D; &nbsp;x &amp</p><p>&ampx &copy2024 &unknown; &</p>",
    "&amp<br>lt; &am<b>p; tail &",
    "<div><p>one</p><p>two<br/>three<br />four</p></div><hr><h2 class='x'>Head</h2>",
    '<P CLASS="a">Upper</P><TABLE><TR><TD>1</TD><TD>2</TD></TR></TABLE>',
    '<img src="a.jpg" alt="x > y"><p>after</p>',
    "<p>a < b and c > d</p>",
    "<p>x<!-- a comment <p> --></p><p>y</p>",
    "<script>var a = '<p>';</script><p>kept</p><style>p {}</style>",
    "<noscript><p>hidden</p></noscript>shown<template>t</template>",
    "<p data-x=\"1\" hidden>attr</p><a href='/x?a=1&amp;b=2'>link</a>",
    "<![CDATA[x]]><?pi?><!DOCTYPE html><p>z</p>",
    "<p>unclosed <b>bold",
    '<p>broken <a href="x"',
    "<p>\n\n  spaced   out \t text \r\n</p>\n\n<li>item</li>",
    "<p/>x<p  >y</p ><custom-tag>z</custom-tag><o:p>w</o:p>",
    '<p a=b>unquoted</p><p a = "b" c>spaces</p><p a="b"c="d">tight</p>',
    "<br/><br><BR>x&#0;&#xD800;&#1114112;y",
    "</>stray</ p>end<\n p>",
]


@pytest.mark.parametrize("body", SYNTHETIC)
def test_synthetic_bodies_give_the_same_text(body: str) -> None:
    assert html_text(body) == reference(body)


def test_page_bodies_give_the_same_text() -> None:
    assert len(PAGES) >= 20
    fast = 0
    for name, body in PAGES:
        assert html_text(body) == reference(body), name
        fast += _plain_parts(body) is not None
    assert fast >= len(PAGES) // 2  # the fast path is the common one


COMMENTS = [
    "<!-- 编辑姓名及工作代码 --><p>x</p>",
    "<!--a-b--><p>x</p><!---->y<!-- -- -->z",
    "<!--a--->b<!-->c<!--->d-->e",
    "<!--a--!>b-->c",
    "<!-- x <p> y -->z",
    "<!-- unclosed <p>q</p>",
]


@pytest.mark.parametrize("body", COMMENTS)
def test_comments_give_the_same_text(body: str) -> None:
    assert html_text(body) == reference(body)


SKIPPED = [
    '<script>var a = 1;</script><p>kept</p><STYLE type="x">p {}</STYLE >t',
    "<script>a</SCRIPT>b<style>c</script>d</style>e",
    "<script/>x<noscript/>y<noscript><p>in</p>z</noscript>w</noscript>v",
    "<template><div>a<template>b</template>c</div></template>d",
    "</script>x<noscript>y</script>z</noscript>q",
    "<script>if (a < b) {}</script><p>after</p>",
    "<p>a<script type='t'>x</script >b</p><noscript>&amp;</noscript>&amp;",
]


@pytest.mark.parametrize("body", SKIPPED)
def test_skipped_elements_give_the_same_text(body: str) -> None:
    assert html_text(body) == reference(body)


MORE_COMMENTS = [
    "<!--article_adlist[<span>x</span>]-->y",
    "<!--\n<OBJECT id=a>\n-->z<!--br><font class=f12>-->w",
    "<!-->a-->b<!--->c-->d<!-- a -- b -->e<!-- x --!>f-->g",
]


@pytest.mark.parametrize("body", MORE_COMMENTS)
def test_comments_with_markup_give_the_same_text(body: str) -> None:
    assert html_text(body) == reference(body)


def test_random_mixtures_give_the_same_text() -> None:
    pieces = [*SYNTHETIC, *COMMENTS, *SKIPPED, *MORE_COMMENTS, "<", ">", "&", "-->", "</",
              "<!--", "<p>", "</p>", "<script>", "</style>", "&amp;", " \n ", "文字",
              "<br/>"]  # fmt: skip
    rng = random.Random(20240510)
    for _ in range(3000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 8)))
        assert html_text(body) == reference(body), body
