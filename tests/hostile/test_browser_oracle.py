"""Hostile bodies judged by a browser's parser (tests/hostile/oracle.py), through a real crawl.

Why: the body transform parses with lxml, but a post is read by browsers. Each body below is
hostile where lxml and an HTML5 tree builder disagree (raw text in SVG/MathML, entity-decoded
payloads, mutation-XSS classics, comment and CDATA forms), where lxml would lose the article's
text (``<embed>``, an unclosed ``<object>``, ``<plaintext>``), or where markup loads something
(CSS, SVG animations, ``<link>``/``<meta>``/``<base>``, ``srcset``, ``xlink:href``). Every one is
put between two marker paragraphs in a real article page, the whole set is crawled from a
replay directory by the real command (``newsspider crawl --replay``), and each written post
must be safe by the oracle (scripting on and off), keep both markers and the article's own
last paragraph (no silent loss), and hold nothing of the page outside the body container.
The oracle is also run over every post the other hostile crawls of the session wrote and over
the golden posts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostilekit import LEDGER, Crawl, article, check_post, post_titles, run
from oracle import css_problems, post_body, problems
from rollreplay import ReplayBuilder, roll_body, roll_item

GROUP = "browser oracle"
TESTS = Path(__file__).resolve().parents[1]
GOLDEN = TESTS / "fixtures" / "golden"
#: the article's own last paragraph, after every insertion point
LAST_PARAGRAPH = "市领导周慧琳、诸葛宇杰、朱芝松、舒庆、张为参加。"
#: text and script of the page after the body container: never in a post
PAGE_OUTSIDE = ("About Sina", "_S_pSt", "多家银行下调存款利率")


@dataclass(frozen=True)
class Case:
    label: str
    fragment: str
    #: does a browser run or load something in the fragment as it is? (the oracle must say so)
    hostile: bool = True
    #: strings the post's body must hold (text a browser shows), and must not
    keeps: tuple[str, ...] = ()
    drops: tuple[str, ...] = ()


X = "<img src=x onerror=alert(1)>"
CASES: list[Case] = [
    # raw-text elements that SVG/MathML parse as markup
    Case("svg style", f"<svg><style>{X}</style></svg>"),
    Case("math style", f"<math><style>{X}</style></math>"),
    Case("svg xmp", f"<svg><xmp>{X}</xmp></svg>"),
    Case("svg noembed", f"<svg><noembed>{X}</noembed></svg>"),
    Case("svg plaintext", f"<svg><plaintext>{X}</plaintext></svg>"),
    Case("svg noscript", f"<svg><noscript>{X}</noscript></svg>"),
    Case("svg iframe", f"<svg><iframe>{X}</iframe></svg>"),
    Case("svg noframes", f"<svg><noframes>{X}</noframes></svg>"),
    Case("svg title", f"<svg><title>{X}</title></svg>"),
    Case("svg textarea", f"<svg><textarea>{X}</textarea></svg>"),
    Case("svg style never closed", f"<svg><style>{X}"),
    Case("SVG STYLE upper case", "<SVG><STYLE><IMG SRC=x ONERROR=alert(1)></STYLE></SVG>"),
    # entities that decoding would turn into tags
    Case(
        "svg style entity-encoded img",
        "<svg><style>&lt;img src=x onerror=alert(1)&gt;</style></svg>",
        hostile=False,
        drops=("onerror",),
    ),
    Case(
        "math style entity-encoded img",
        "<math><style>&lt;/style&gt;&lt;img src=x onerror=alert(1)&gt;</style></math>",
        hostile=False,
        drops=("onerror",),
    ),
    Case(
        "style entity-encoded end tag",
        "<style>p{} &lt;/style&gt;&lt;img src=x onerror=alert(1)&gt;</style>",
        hostile=False,
        drops=("<img src=x",),
    ),
    Case(
        "xmp entity and markup",
        "<xmp>&lt;script&gt;alert(1)&lt;/script&gt; <b>粗体</b></xmp>",
        hostile=False,
        keeps=("&lt;b>粗体&lt;/b>",),
    ),
    # mutation-XSS classics
    Case("noscript title", f'<noscript><p title="</noscript>{X}"></noscript>'),
    # html5lib 1.1 predates "</p> leaves SVG" (a browser runs this one as it stands)
    Case(
        "svg </p> style",
        '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
        hostile=False,
    ),
    Case(
        "math mtext table mglyph style",
        f"<math><mtext><table><mglyph><style>{X}</style></mglyph></table></mtext></math>",
        hostile=False,
    ),
    Case(
        "DOMPurify 2.0.0 mglyph comment",
        '<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;/mglyph&gt;'
        '&lt;img&Tab;src=1&Tab;onerror=alert(1)&gt;"></table></mtext></math>',
        hostile=False,
    ),
    Case(
        "form math mtext mglyph",
        "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
        hostile=False,
    ),
    Case("svg p style", f"<svg><p><style>{X}</style></p></svg>", hostile=False),
    Case("noscript img", f"<noscript>{X}</noscript>"),
    Case(
        "nested noscript",
        f"<noscript><noscript>{X}</noscript><p>仍是正文</p>",
        keeps=("仍是正文",),
    ),
    Case("noembed img", f"<noembed>{X}</noembed>", hostile=False),
    Case("iframe content", f"<iframe>{X}</iframe>"),
    Case("xmp img", f"<xmp>{X}</xmp>", hostile=False, keeps=("&lt;img src=x",)),
    # comments and CDATA
    Case("<!--> empty comment", f"<!-->{X}-->"),
    Case("<!---> empty comment", f"<!--->{X}-->"),
    Case("<!--!> not an end", f"<!--!>{X}-->", hostile=False),
    Case("--!> ends a comment", f"<!-- a --!>{X} -->"),
    Case("CDATA in svg", f"<svg><![CDATA[ >{X} ]]></svg>", hostile=False),
    Case("CDATA in html", f"<![CDATA[ >{X} ]]>"),
    # what lxml nests into an element it then drops: the article's text must stay
    Case("bare embed", '<embed src="https://v.sina.com.cn/x.swf">', keeps=("后文标记",)),
    Case(
        "embed inside a paragraph",
        '<p>播放器<embed src="https://v.sina.com.cn/x.swf">下方说明文字</p>',
        keeps=("下方说明文字",),
    ),
    Case(
        "unclosed object",
        '<object data="https://v.sina.com.cn/x.swf"><param name=movie value=x>',
        keeps=("后文标记",),
        drops=("<param", "<object"),
    ),
    Case(
        "object fallback text",
        '<object data="https://v.sina.com.cn/x.swf"><p>备用文字</p></object>',
        keeps=("<p>备用文字</p>",),
    ),
    Case(
        "applet fallback text",
        "<applet code=x.class><p>小程序备用</p></applet>",
        keeps=("<p>小程序备用</p>",),
    ),
    Case("plaintext", "<plaintext><p>纯文本之后</p>", hostile=False, keeps=("纯文本之后",)),
    Case("PLAINTEXT upper case", "<PLAINTEXT>", hostile=False),
    Case(
        "unclosed svg, then text",
        "<svg><g><p>图形之后的文字</p>",
        hostile=False,
        keeps=("图形之后的文字",),
    ),
    # CSS
    Case("style expression", '<p style="width:expression(alert(1))">e</p>', drops=("expression",)),
    Case("style \\65xpression", '<p style="width:\\65xpression(alert(1))">e</p>'),
    Case("style exp/**/ression", '<p style="width:exp/**/ression(alert(1))">e</p>'),
    Case("style url other host", '<p style="background:url(//evil.example.com/x.png)">u</p>'),
    Case(
        "style url escaped host", '<p style="background:u\\72l(https://evil.example.com/x)">u</p>'
    ),
    Case("style behavior", '<p style="behavior:url(x.htc)">b</p>'),
    Case("style -moz-binding", '<p style="-moz-binding:url(//evil.example.com/x.xml#a)">m</p>'),
    Case("style javascript url", '<p style="background:url(javascript:alert(1))">j</p>'),
    Case(
        "style image-set",
        "<p style='background:image-set(\"https://evil.example.com/a.png\" 1x)'>i</p>",
    ),
    Case("<style> @import", "<style>@import url(https://evil.example.com/x.css);</style>"),
    Case(
        "<style> url other host",
        "<style>p{background:url('https://evil.example.com/x.png')}</style>",
    ),
    Case(
        "same-site CSS stays",
        '<p style="background:url(//n.sinaimg.cn/a.png)">s</p><style>.k{color:red}</style>',
        hostile=False,
        keeps=('style="background:url(//n.sinaimg.cn/a.png)"', "<style>.k&#123;color:red&#125;"),
    ),
    # SVG animations, link, meta, base
    Case(
        "svg animate href",
        '<svg><animate attributeName="href" values="javascript:alert(1)"/>'
        "<a><text>x</text></a></svg>",
    ),
    Case(
        "svg set xlink:href",
        '<svg><a><set attributeName="xlink:href" to="javascript:alert(1)"/>'
        "<text>x</text></a></svg>",
    ),
    Case(
        "animate outside svg",
        '<animate attributeName=href values="javascript:alert(1)">动画</animate>',
        keeps=("动画",),
        drops=("<animate",),
    ),
    Case("link stylesheet", '<link rel=stylesheet href="https://evil.example.com/x.css">'),
    Case("link import", '<link rel=import href="https://evil.example.com/x.html">'),
    Case("meta refresh", '<meta http-equiv="refresh" content="0;url=https://evil.example.com/">'),
    Case("meta charset", '<meta charset="gbk">', hostile=False, drops=("<meta",)),
    Case("base href", '<base href="https://evil.example.com/">'),
    # URL attributes
    Case(
        "srcset candidate",
        '<img src="https://n.sinaimg.cn/a.jpg" srcset="https://n.sinaimg.cn/'
        'a.jpg 1x, javascript:alert(1) 2x">',
    ),
    Case(
        "source srcset data:",
        '<picture><source srcset="data:image/svg+xml,<svg onload=alert(1)>'
        '"><img src="https://n.sinaimg.cn/a.jpg"></picture>',
    ),
    Case(
        "xlink:href outside svg",
        '<a xlink:href="javascript:alert(1)">链接</a>',
        keeps=("链接",),
        drops=("xlink",),
    ),
    Case(
        "upper-case attributes",
        "<IMG SRC=x ONERROR=alert(1)><A HREF='JAVA&#x09;SCRIPT:alert(1)'>a</A>",
    ),
    Case("padded numeric entity", '<a href="&#0000106avascript:alert(1)">a</a>'),
    Case(
        "form action and formaction",
        "<form action=javascript:alert(1)><button "
        "formaction=javascript:alert(2)>b</button><input type=image src=x formaction=javascript:x>"
        "</form>",
    ),
    Case(
        "poster, background, dynsrc, lowsrc",
        '<video poster="javascript:alert(1)"></video>'
        '<table background="javascript:alert(1)"><tr><td>t</td></tr></table>'
        '<img dynsrc="javascript:alert(1)" lowsrc="javascript:alert(1)">',
    ),
    Case(
        "srcdoc and ping",
        "<iframe srcdoc='<script>alert(1)</script>'></iframe>"
        "<a href=/x ping='javascript:alert(1)'>p</a>",
    ),
    Case("vbscript and data", "<a href='vbscript:msgbox(1)'>v</a><a href='data:text/html,x'>d</a>"),
]
FIRST_N = 400
GOOD_N = 480


def _marked(n: int, fragment: str) -> str:
    return f"<p>前文标记{n}</p>{fragment}<p>后文标记{n}</p>"


@pytest.fixture(scope="module")
def oracle_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawl, dict[str, str]]:
    watch = tmp_path_factory.getbasetemp()
    root = tmp_path_factory.mktemp("oracle")
    replay = ReplayBuilder(root / "replay")
    items: list[dict] = []
    titles: dict[str, str] = {}
    for n, case in enumerate(CASES, start=FIRST_N):
        url, _, title, page = article(n, body_html=_marked(n, case.fragment), where="middle")
        replay.add(url, page, content_type="text/html; charset=utf-8")
        items.append(roll_item(url, f"oracle {n}", 1672545600 - n * 60))
        titles[case.label] = title
    url, _, title, page = article(GOOD_N)
    replay.add(url, page)
    items.append(roll_item(url, "good", 1672545600 - GOOD_N * 60))
    titles["good"] = title
    replay.add_roll("china", 1, roll_body(items))
    replay.add_roll("china", 2, roll_body([]))
    replay.write()
    crawl = run("browser-oracle", root, ["crawl", "--replay", str(replay.dir), "--images", "off"],
                watch=watch, timeout=240)  # fmt: skip
    return crawl, titles


def test_the_crawl_archives_every_hostile_body(oracle_crawl: tuple[Crawl, dict[str, str]]) -> None:
    crawl, titles = oracle_crawl
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr
    assert crawl.failures == {}
    assert crawl.summary["counts"]["archived"] == len(CASES) + 1
    posts = crawl.posts()
    assert len(posts) == len(CASES) + 1, "one post per article, no other file"
    assert set(post_titles(posts)) == set(titles.values())
    assert not list(crawl.out.rglob("*.tmp"))


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_each_post_is_safe_in_a_browser_and_keeps_the_text(
    case: Case, oracle_crawl: tuple[Crawl, dict[str, str]]
) -> None:
    crawl, titles = oracle_crawl
    n = FIRST_N + CASES.index(case)
    path = post_titles(crawl.posts()).get(titles[case.label])
    assert path is not None and path.is_file(), f"{case.label}: no post written"
    assert check_post(path, crawl.out) == []
    body = post_body(path.read_text("utf-8"))
    assert problems(body) == []
    for text in (f"前文标记{n}", f"后文标记{n}", LAST_PARAGRAPH, *case.keeps):
        assert text in body, f"{case.label}: {text!r} lost"
    for text in (*PAGE_OUTSIDE, *case.drops):
        assert text not in body, f"{case.label}: {text!r} in the post"
    LEDGER.add(GROUP, case.label, "sanitised")


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_the_oracle_sees_what_a_browser_would_run(case: Case) -> None:
    """Each input as it is: the oracle flags the ones a browser would run or load from as they
    stand (so a safe verdict on the post is not the oracle's blindness), and passes the rest
    (their danger is in lxml's reading, or in a mutation on re-serialisation)."""
    found = problems(_marked(0, case.fragment))
    assert bool(found) == case.hostile, found


def test_the_oracle_parses_noscript_both_ways() -> None:
    # scripting on: noscript is raw text, the title's "</noscript>" ends it and the img is live
    assert problems(f'<noscript><p title="</noscript>{X}"></noscript>') == [
        "scripting on: onerror= on <img>"
    ]
    # scripting off: noscript content is markup, an img inside it loads
    assert problems("<noscript><img src=x onerror=alert(1)></noscript>") == [
        "scripting off: onerror= on <img>"
    ]
    assert css_problems("a{b:url(//n.sinaimg.cn/x)}") == []
    assert css_problems("a{b:url(\\2f\\2f evil.example.com/x)}")


@pytest.mark.hostile_last
def test_every_post_of_the_hostile_suite_is_safe_in_a_browser() -> None:
    """Every post any hostile crawl of this session wrote (the whole suite when it runs)."""
    assert LEDGER.outputs, "no hostile crawl ran"
    unsafe = {}
    count = 0
    for out in LEDGER.outputs:
        for path in sorted((out / "_posts").rglob("*.md")) if (out / "_posts").is_dir() else []:
            count += 1
            found = problems(post_body(path.read_text("utf-8")))
            if found:
                unsafe[str(path)] = found
    assert count >= len(CASES)
    assert unsafe == {}


def test_the_golden_posts_are_safe_in_a_browser() -> None:
    cases = sorted(GOLDEN.iterdir())
    assert len(cases) == 5
    for case in cases:
        expected = json.loads((case / "case.json").read_text("utf-8"))
        body = post_body((case / "expected.md").read_text("utf-8"))
        assert body and problems(body) == [], expected["url"]
