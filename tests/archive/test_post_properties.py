"""Property tests: any title gives a post that loads back, and a file name that is safe."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from pathlib import PurePosixPath

import frontmatter
from hypothesis import given, settings
from hypothesis import strategies as st

from newsspider.archive.names import MAX_NAME_BYTES, name_stem, with_suffix
from newsspider.archive.post import Post, escape_braces, normalize_title, render, rfc1123

CATS = ("金融", "新浪财经", "新浪财经－国內")
NASTY = [
    "'", '"', "\\", ":", ": ", "#", " #", "---", "{{ x }}", "{% raw %}", "{#", "}", "&#123;",
    "\u3000", "\xa0", "\n", "\r\n", "\t", "\u200f", "\u202e", "\u200b", "\ufeff", "\x00",
    "\x1f", "\x85", "\u2028", "😀", "\ue000", "\U0010fffd", "\ud800", "\uffff", "- ", "? ",
    "&anchor", "*alias", "!!python/object", "|", ">", "%", "@", "`", "[", "]", ",", "…",
    "..", "/", "CON", "_", ".",
]  # fmt: skip
titles = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(min_size=0, max_size=8)), min_size=0, max_size=40
).map("".join) | st.text(max_size=3000)


def unescape_braces(value: str) -> str:
    return value.replace("&#123;", "{").replace("&#125;", "}")


def load(text: str) -> frontmatter.Post:
    return frontmatter.loads(text)


@settings(max_examples=400, deadline=None)
@given(titles)
def test_any_title_loads_back_normalised(title: str) -> None:
    when = datetime(2021, 12, 2, 13, 15, 52, tzinfo=UTC)
    post = Post(normalize_title(title), CATS, "https://n.sinaimg.cn/a'b.jpg", "新浪财经",
                rfc1123(when), "<p>x</p>")  # fmt: skip
    text = render(post)
    assert text.startswith("\n---\ntitle: ") and not text.endswith("\n")
    assert "{" not in text and "}" not in text
    meta = load(text).metadata
    assert meta["title"] == escape_braces(normalize_title(title))
    if "&#12" not in title:
        assert unescape_braces(meta["title"]) == normalize_title(title)
    assert meta["categories"] == list(CATS)
    assert meta["headimg"] == meta["thumbnail"] == "https://n.sinaimg.cn/a'b.jpg"
    assert meta["date"] == "Thu, 02 Dec 2021 13:15:52 GMT"
    assert meta["comments"] is False


@settings(max_examples=400, deadline=None)
@given(titles, st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=16))
def test_any_title_gives_one_safe_file_name(title: str, doc_id: str) -> None:
    for name in (
        name_stem(title, doc_id) + ".md",
        with_suffix(name_stem(title, doc_id), doc_id) + ".md",
    ):
        folder = PurePosixPath("_posts", *CATS)
        path = folder / name
        assert path.parent == folder and path.name == name, "one path component"
        assert name not in (".md", "..md") and not name.startswith(("_", "."))
        assert "/" not in name and "\x00" not in name and "\\" not in name
        stem = name[: -len(".md")]
        base = stem[: -len(f" ({doc_id})")] if stem.endswith(f" ({doc_id})") else stem
        assert len(base.encode("utf-8")) <= MAX_NAME_BYTES
        assert base == base.strip()


def test_title_quoting_rules() -> None:
    assert render(Post("a", CATS, "", "x", "d", "")).splitlines()[2] == "title: 'a'"
    assert render(Post("It's", CATS, "", "x", "d", "")).splitlines()[2] == 'title: "It\'s"'
    assert (
        render(Post('It\'s "x"', CATS, "", "x", "d", "")).splitlines()[2] == "title: 'It''s \"x\"'"
    )
    assert render(Post("a'\\b", CATS, "", "x", "d", "")).splitlines()[2] == "title: 'a''\\b'"


def test_normalize_title_rules() -> None:
    assert normalize_title(" a\u3000\u3000b\n\tc\xa0 ") == "a b c"
    assert normalize_title("a\u200fb\u200bc\ue000d\x07e") == "abcde"
    assert normalize_title("ａＢ") == "ａＢ", "no NFKC"


def test_file_name_rules() -> None:
    assert name_stem("1-4月份全国居民消费价格（CPI）同比上涨1.4%", "x") == (
        "1-4月份全国居民消费价格（CPI）同比上涨14%"
    )
    assert name_stem("“3月1日起”a/b:c?d*e<f>g|h[i]j#k.l", "x") == "3月1日起_a_b_c_d_e_f_g_h_i_jkl"
    assert name_stem("..", "docid") == "docid"
    assert name_stem("___", "docid") == "docid"
    assert len(name_stem("长" * 500, "x").encode()) <= 200
    assert name_stem("CON", "x") == "CON_"


def test_bare_or_quoted_categories() -> None:
    post = render(Post("t", ("金融", "a: b", "#x"), "", "DT 财经", "d", ""))
    assert " - 金融\n - 'a: b'\n - '#x'\n" in post
    assert "author: DT 财经\n" in post
    assert load(post).metadata["categories"] == ["金融", "a: b", "#x"]
