"""Hostile and broken article bodies through a real replayed channel crawl: every post written is
sanitised (checked by an HTML parser), every page that cannot be a whole post is refused with
its reason, and the good article beside them is archived normally.
"""

from __future__ import annotations

import pytest
from hostilekit import LEDGER, Crawl, article, check_all, insert_body, run, unsafe_markup
from rollreplay import ReplayBuilder, roll_body, roll_item

GROUP = "bodies"
#: (label, fragment, where in the body): each archived, sanitised
SANITISED: list[tuple[str, str, str]] = [
    ("<script> before the first element", "<script>alert(1)</script>", "start"),
    ("<script> between paragraphs", "<script>alert(2)</script>", "middle"),
    ("<script> at the end", "<script src='//evil.example.com/x.js'></script>", "end"),
    ("<script> inside a paragraph", "<p>text <script>alert(3)</script> more</p>", "middle"),
    ("<SCRIPT> upper case", "<SCRIPT>alert(4)</SCRIPT>", "middle"),
    ("split <scr<script>ipt>", "<scr<script>ipt>alert(5)</script>", "middle"),
    ("<script> in <svg>", "<svg><script>alert(6)</script></svg>", "middle"),
    (
        "on… handlers",
        "<img src=x onerror=alert(7)><div onclick='x()' OnMouseOver=y>d</div>"
        "<p/onclick=alert(8)>p</p><svg onload=alert(9)></svg>",
        "middle",
    ),
    ("javascript: in mixed case", "<a href='JaVaScRiPt:alert(10)'>a</a>", "middle"),
    (
        "javascript: as entities",
        "<a href='&#106;avascript&colon;alert(11)'>a</a>"
        "<a href='&#x6A;&#x61;vascript:alert(12)'>b</a>",
        "middle",
    ),
    (
        "javascript: with tab, newline, controls",
        "<a href='java&#x09;scr&#10;ipt:alert(13)'>a</a><a href=' \x01 javascript:alert(14)'>b</a>",
        "middle",
    ),
    ("vbscript:", "<a href='vbscript:msgbox(15)'>v</a>", "middle"),
    (
        "data: URLs",
        "<a href='data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='>d</a>"
        "<img src='data:image/svg+xml,<svg onload=alert(16)>'>",
        "middle",
    ),
    (
        "<iframe> and srcdoc",
        "<iframe src='https://evil.example.com/'></iframe>"
        "<iframe srcdoc='<script>alert(17)</script>'></iframe><div srcdoc=x>s</div>",
        "middle",
    ),
    (
        "<object>, <embed>, <applet>",
        "<object data='javascript:alert(18)'><param name=a value=b>"
        "</object><embed src='https://evil.example.com/x.swf'><applet code=x></applet>",
        "end",
    ),
    (
        "<form> action and formaction",
        "<form action='javascript:alert(19)'><button "
        "formaction='javascript:alert(20)'>b</button></form>",
        "middle",
    ),
    (
        "<base>, poster, background",
        "<base href='javascript:alert(21)//'><video "
        "poster='javascript:alert(22)'></video><table background='javascript:x'><tr><td>t</td>"
        "</tr></table>",
        "middle",
    ),
    (
        "xlink:href in svg and math",
        "<svg><a xlink:href='javascript:alert(23)'><text>x</text>"
        "</a></svg><math><mi xlink:href='javascript:alert(24)'>m</mi></math>",
        "middle",
    ),
    (
        "<noscript> smuggling",
        "<noscript><p title='</noscript><img src=x onerror=alert(25)>'></noscript>",
        "middle",
    ),
    ("comment that ends early (--!>)", "<!-- a --!><script>alert(26)</script> -->", "middle"),
    (
        "entity-encoded --> in a comment",
        "<!-- x &#45;-&gt; <script>alert(27)</script> -->",
        "middle",
    ),
    ("</style> smuggling", "<style>p{}</style><script>alert(28)</script></style>", "middle"),
    (
        "odd attribute and tag names",
        '<p a"onclick=alert(32) e<f=1 `x=2>odd</p><javascript:alert(33)>j</javascript:alert(33)>',
        "middle",
    ),
    ("unclosed tags", "<div><p><b><i><table><tr><td>never closed", "middle"),
    ("unclosed attribute quote", '<p title="never closed>text</p>', "end"),
    ("stray closing tags", "</span></p></div></div>", "end"),
    (
        "escaped markup stays text",
        "<p>&lt;script&gt;alert(29)&lt;/script&gt; &amp;lt;</p>",
        "middle",
    ),
    ("Nunjucks in the body", "<p>{{ x }} {% raw %} {# c #}</p>", "middle"),
    (
        "Markdown links to script URLs",
        "\n\n[click](javascript:alert(30)) <javascript:x> ![i]( <JaVa&#9;Script:alert(34)>)"
        "\n\n[ref][1]\n\n[1]: vbscript:msgbox(35)\n\n",
        "end",
    ),
]
GOOD_N = 950


def _charset_pages() -> list[tuple[str, bytes]]:
    """Pages declared in one charset and encoded in another, and invalid bytes."""
    out = []
    _, _, _, page = article(960)
    text = page.decode("utf-8")
    gb_declared = text.replace('charset="utf-8"', 'charset="gb2312"', 1).replace(
        "charset=utf-8", "charset=gb2312", 1
    )
    out.append(("declared GB2312, encoded UTF-8", gb_declared.encode("utf-8")))
    out.append(("declared UTF-8, encoded GB18030", text.encode("gb18030")))
    bad = insert_body(text, "<p>bad bytes: BADBYTES end</p>", "middle").encode("utf-8")
    out.append(
        ("invalid UTF-8 byte sequences", bad.replace(b"BADBYTES", b"\xff\xfe\xc3\x28\xed\xa0\x80"))
    )
    return out


@pytest.fixture(scope="module")
def bodies_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawl, dict[str, str]]:
    watch = tmp_path_factory.getbasetemp()
    root = tmp_path_factory.mktemp("bodies")
    replay = ReplayBuilder(root / "replay")
    items: list[dict] = []
    urls: dict[str, str] = {}

    def add(
        label: str, n: int, page: bytes, content_type: str = "text/html; charset=utf-8"
    ) -> None:
        url = article(n)[0]
        replay.add(url, page, content_type=content_type)
        items.append(roll_item(url, f"hostile body {n}", 1672545600 - n * 60))
        urls[label] = url

    for n, (label, fragment, where) in enumerate(SANITISED, start=100):
        add(label, n, article(n, body_html=fragment, where=where)[3])
    for n, (label, page) in enumerate(_charset_pages(), start=200):
        add(label, n, page, content_type="text/html")
    text = article(300)[3].decode("utf-8")
    add(
        "100,000-deep nesting",
        300,
        insert_body(text, "<div>" * 100_000 + "deep" + "</div>" * 100_000).encode(),
    )
    add("HTML comment that never ends", 301, (text[: text.index("<!-- news_keyword_pub")]
        .replace('data-sudaclick="blk_content">', 'data-sudaclick="blk_content"><!-- open'))
        .encode())  # fmt: skip
    big = insert_body(text, "<!--" + "x" * (50 * 1024 * 1024) + "-->", "end")
    add("50 MB page", 302, big.encode())
    add("only a script in the body", 303, text.replace(
        text[text.index('data-sudaclick="blk_content">') + 29: text.index("<!-- news_keyword_pub")],
        "<script>alert(31)</script>").encode())  # fmt: skip
    add("binary served as HTML", 304, bytes(range(256)) * 64)
    add("an image served as the article", 305, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")
    url, _, _, page = article(GOOD_N)
    replay.add(url, page)
    items.append(roll_item(url, "good", 1672545600 - GOOD_N * 60))
    urls["good"] = url
    replay.add_roll("china", 1, roll_body(items))
    replay.add_roll("china", 2, roll_body([]))
    replay.write()
    crawl = run("bodies", root, ["crawl", "--replay", str(replay.dir), "--images", "off"],
                watch=watch, timeout=180)  # fmt: skip
    big_file = [p for p in (root / "replay" / "f").iterdir() if p.stat().st_size > 40_000_000]
    for p in big_file:  # 50 MB need not stay on disk for the rest of the session
        p.unlink()
    return crawl, urls


#: label -> the reason its failure line must give
REFUSED = {
    "100,000-deep nesting": "elements nested more than 255 deep",
    "HTML comment that never ends": "an HTML comment never ends",
    "50 MB page": "page larger than the download size cap of 16777216 bytes",
    "only a script in the body": "body holds neither text nor images",
    "binary served as HTML": "",  # any specific reason: checked to be non-empty
    "an image served as the article": "not an HTML page (Content-Type image/png)",
}


def test_hostile_bodies_are_sanitised_or_refused_with_a_reason(
    bodies_crawl: tuple[Crawl, dict[str, str]],
) -> None:
    crawl, urls = bodies_crawl
    assert crawl.returncode == 1, crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr
    failures = crawl.failures
    for label, reason in REFUSED.items():
        got = failures.get(urls[label], "")
        assert got and got.startswith(reason), f"{label}: {got!r}"
        LEDGER.add(GROUP, label, f"skipped: {got.split(':')[0].split('(')[0].strip()}")
    assert set(failures) == {urls[label] for label in REFUSED}
    assert crawl.summary["counts"]["archived"] == len(SANITISED) + 3 + 1
    for label, _, _ in SANITISED:
        LEDGER.add(GROUP, label, "sanitised")
    for label, _ in _charset_pages():
        LEDGER.add(GROUP, label, "archived")
    stats = crawl.summary["stats"]
    assert stats["article/too_deep"] == 1 and stats["article/unterminated_comment"] == 1


def test_every_post_passes_the_format_and_safety_checks(
    bodies_crawl: tuple[Crawl, dict[str, str]],
) -> None:
    crawl, _ = bodies_crawl
    posts = crawl.posts()
    assert len(posts) == len(SANITISED) + 4
    assert check_all(posts, crawl.out) == {}
    text = "".join(p.read_text("utf-8") for p in posts)
    assert "&lt;script&gt;alert(29)" not in text and "&lt;script>alert(29)" in text


def test_the_checker_finds_what_it_must() -> None:
    """The safety checker itself, on markup a sanitiser must not let through."""
    for bad in ("<script>x</script>", "<a href='&#106;avascript:x'>a</a>", "<IFRAME></IFRAME>",
                "<a href=' java\tscript:x'>a</a>", "<img src=x OnError=y>", "<object></object>",
                "<embed>", "<div srcdoc=x></div>", "<a href='DATA:text/html,x'>a</a>",
                "<svg><a xlink:href='javascript:x'>a</a></svg>"):  # fmt: skip
        assert unsafe_markup(bad), bad
    assert unsafe_markup("<!-- <script>x</script> --><p>ok</p>") == []
