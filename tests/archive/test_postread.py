"""The one reader of posts: what it reads is what the writer wrote, and nothing else reads posts."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import frontmatter
import pytest
from conftest import golden_cases
from hypothesis import given, settings
from hypothesis import strategies as st

from newsspider.archive.form import compact_post
from newsspider.archive.post import Post, escape_braces, normalize_title, render
from newsspider.archive.postread import (
    PostUnreadable,
    body_span,
    derived_fields,
    linked_images,
    post_parts,
    read_front_matter,
    replace_image_values,
    split,
)
from newsspider.archive.relink import relink_post

ROOT = Path(__file__).resolve().parents[2]
ARCHIVED = sorted((ROOT / "tests" / "fixtures" / "archived").glob("*.md"))
GOLDEN = golden_cases()
CATS = ("新闻中心", "国内新闻", "综合")


def _posts() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in ARCHIVED] + [(c.name, c.expected) for c in GOLDEN]


def test_there_are_posts_to_read() -> None:
    assert len(ARCHIVED) >= 30 and len(GOLDEN) >= 5


@pytest.mark.parametrize(("name", "data"), _posts(), ids=[n for n, _ in _posts()])
def test_every_archived_and_golden_post_reads_as_python_frontmatter_reads_it(
    name: str, data: bytes
) -> None:
    """Front matter values and body: the same as a plain python-frontmatter load (braces
    restored), and the body inside the writer's ``<div>`` wrapper, exactly."""
    text = data.decode("utf-8")
    plain = frontmatter.loads(text)
    fm = read_front_matter(data)
    assert fm.title == plain["title"].replace("&#123;", "{").replace("&#125;", "}")
    assert fm.categories == [str(c) for c in plain["categories"]]
    assert fm.date == str(plain["date"])
    headimg, body = post_parts(text)
    assert fm.headimg == headimg == plain["headimg"].replace("&#123;", "{").replace("&#125;", "}")
    assert escape_braces(f"<div>   \n{body}  \n</div>") == plain.content
    derived = derived_fields(data)
    assert (derived["headimg"], derived["body"]) == (headimg, body)
    # the exact seams: head + rest is the post, and the body span is the wrapper's
    parts = split(text)
    assert parts is not None and "".join(parts) == text
    span = body_span(text)
    assert span is not None
    assert text[span[0] : span[1]] == plain.content


@pytest.mark.parametrize("case", GOLDEN, ids=[c.name for c in GOLDEN])
def test_golden_headimg_is_the_one_the_writer_linked(case: object) -> None:
    data = case.expected  # type: ignore[attr-defined]
    fm = read_front_matter(data)
    line = re.search(rb"^thumbnail: '(.*)'$", data, re.MULTILINE)
    assert line is not None
    assert fm.headimg == line.group(1).decode("utf-8").replace("''", "'")
    assert fm.categories and fm.date.endswith(" GMT")


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: normalize_title(s) != "")


#: a head image is a URL (ASCII, percent-encoded) or a local path, whose names may hold any
#: letter but no control character or line separator (archive/names.py)
_image = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20)


@settings(max_examples=300, deadline=None)
@given(title=_text, image=_image, body=_text)
def test_the_reader_gives_back_what_the_writer_wrote(title: str, image: str, body: str) -> None:
    body = "<p>" + body.replace("\n", " ") + "</p>"
    post = Post(normalize_title(title), CATS, image, "新浪财经",
                "Thu, 02 Dec 2021 13:15:52 GMT", body)  # fmt: skip
    text = render(post)
    fm = read_front_matter(text.encode("utf-8"))
    assert fm.title == post.title
    assert fm.categories == list(CATS)
    assert fm.date == post.date
    assert post_parts(text) == (image, body)


def test_image_values_are_replaced_byte_for_byte() -> None:
    post = Post("t", CATS, "https://n.sinaimg.cn/a'{b}.jpg", "a", "Thu, 02 Dec 2021 13:15:52 GMT",
                '<p><img src="https://n.sinaimg.cn/a\'{b}.jpg"></p>')  # fmt: skip
    text = render(post)
    parts = split(text)
    assert parts is not None
    head = replace_image_values(parts[0], {"https://n.sinaimg.cn/a'{b}.jpg": "/images/x"}.get)
    assert head.count("'/images/x'") == 2
    assert replace_image_values(parts[0], lambda _v: None) == parts[0]
    back = replace_image_values(head, {"/images/x": "https://n.sinaimg.cn/a'{b}.jpg"}.get)
    assert back == parts[0]
    assert linked_images(text) == {"https://n.sinaimg.cn/a'&#123;b&#125;.jpg"}


def test_text_that_is_no_post() -> None:
    assert split("no front matter") is None
    assert body_span("no front matter") is None
    assert post_parts("no front matter") == ("", "")
    assert relink_post("no front matter", {"a": "b"}) == "no front matter"
    assert compact_post("no front matter") == "no front matter"
    for bad, why in [(b"\xff\xfe", "UTF-8"), (b"title: x\n", "no front matter"),
                     (b"\n---\n- a\n---\n\nbody", "not a YAML mapping")]:  # fmt: skip
        with pytest.raises(PostUnreadable, match=why):
            read_front_matter(bad)


def test_front_matter_yaml_refuses_is_read_line_by_line() -> None:
    """The original generator's unescaped quotes: Hexo read them, so does the archive."""
    data = (
        "\n---\ntitle: 'it's \"odd\"'\ncategories: \n - 新闻中心\n - 国内新闻\n - 综合\n"
        "headimg: 'https://n.sinaimg.cn/a''b.jpg'\nauthor: x\ncomments: false\n"
        "date: Thu, 02 Dec 2021 13:15:52 GMT\nthumbnail: ''\n---\n\n<div>   \n<p>x</p>  \n</div>"
    ).encode()
    fm = read_front_matter(data)
    assert fm.title == 'it\'s "odd"'
    assert fm.categories == list(CATS)
    assert fm.date == "Thu, 02 Dec 2021 13:15:52 GMT"
    assert fm.headimg == "https://n.sinaimg.cn/a'b.jpg"
    assert post_parts(data.decode()) == ("https://n.sinaimg.cn/a'b.jpg", "<p>x</p>")


# --- nothing else reads posts ------------------------------------------------------------------

PACKAGE = ROOT / "newsspider"
#: the reader, and the writer beside it
ALLOWED = {PACKAGE / "archive" / "postread.py", PACKAGE / "archive" / "post.py"}
#: what reading a post back takes: the front matter's fence, or one of its keys at a line start
_POST_SYNTAX = re.compile(r"---\n|^\^?\(?(?:title|categories|headimg|thumbnail|date)\b.*:", re.M)


def _string_constants(tree: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]  # fmt: skip


def test_no_module_but_postread_parses_posts() -> None:
    """No other module imports python-frontmatter or holds the syntax of a post (its ``---``
    fence, a regex for a front matter key): a second reader would be one of those."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in ALLOWED:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] == "frontmatter" for n in names):
                    offenders.append(f"{path.relative_to(ROOT)}: imports python-frontmatter")
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }  # fmt: skip
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and id(node) not in docstrings and _POST_SYNTAX.search(text):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:40]!r}")
    assert offenders == []


def test_the_check_above_finds_a_reader() -> None:
    """The pattern the check relies on matches what the old readers held."""
    for old in ["\n---\n\n", r"^headimg: '((?:[^']|'')*)'$", r"^(headimg|thumbnail): '(.*)'$",
                r"^title: ?(.*)$"]:  # fmt: skip
        assert _POST_SYNTAX.search(old), old
