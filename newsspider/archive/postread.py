"""Reading a post back: the reverse of :func:`newsspider.archive.post.render`, the one reader.

The writer is ``post.py``; whatever reads a post back (``index import``, ``index check
--repair``, the derived columns that search and export read, ``relink``, the form inference and
``relink --compact-body``) reads it here, so that "what a post says" has one answer. Values of
the front matter are read by python-frontmatter (PyYAML's safe loader, its C version when there
is one). The original generator wrote some titles that are not valid YAML (a ``'`` and a ``"``
unescaped); those posts are read line by line instead, as the original's readers (Hexo)
tolerated them.

Where a caller rewrites part of a post and must keep every other byte (``relink``, compacting),
a YAML reading is not enough: python-frontmatter strips the content and cannot say where a value
sits. So the seams of the format (FORMAT.md "The bytes of a post") are found here too, as exact
offsets: :func:`split`, :func:`body_span`, :func:`replace_image_values`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import frontmatter
import yaml

from newsspider.archive.plaintext import html_text
from newsspider.archive.post import escape_braces, single_quote

#: the front matter block at the start of a post (after the archive's leading empty line)
_BLOCK = re.compile(r"\s*---\n(.*?)\n---\n", re.DOTALL)
#: the end of the front matter and the empty line after it: the body starts right after
FRONT_END = "\n---\n\n"
#: what :func:`~newsspider.archive.post.render` puts around the body, and after the post
DIV_OPEN, DIV_CLOSE, TAIL = "<div>   \n", "  \n</div>", "\n            "
#: the two front-matter lines that hold the head image (FORMAT.md "headimg and thumbnail"), as
#: the writer quotes them; also the reading of a front matter YAML refuses
_IMAGE_LINE = re.compile(r"^(headimg|thumbnail): '((?:[^']|'')*)'$", re.MULTILINE)
_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


class PostUnreadable(ValueError):
    """Bytes that are not a post in the archive format; the message says why, in a few words."""


@dataclass
class FrontMatter:
    """The values a post's front matter holds that the archive reads back (braces restored)."""

    title: str
    categories: list[str]
    date: str
    headimg: str = ""


def unbrace(text: str) -> str:
    """FORMAT.md: every ``{``/``}`` of a post is written as ``&#123;``/``&#125;``."""
    return text.replace("&#123;", "{").replace("&#125;", "}")


def _meta(text: str) -> dict[str, Any] | None:
    """The front matter of ``text`` as python-frontmatter reads it (``{}`` when there is none or
    it is no mapping); ``None`` when YAML refuses it."""
    try:
        meta, _content = frontmatter.parse(text)
    except yaml.YAMLError:
        return None
    return meta


def _scalar(value: object) -> str:
    return "" if value is None else str(value)


def read_front_matter(data: bytes) -> FrontMatter:
    """Title, categories, date and head image of a post, or :class:`PostUnreadable` with the
    reason (not UTF-8, no front matter, front matter that is not a mapping)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PostUnreadable(f"not UTF-8 text (byte {exc.start})") from None
    m = _BLOCK.match(text)
    if not m:
        raise PostUnreadable("no front matter (--- block) at the start")
    meta = _meta(text)
    if meta is None:
        return _read_lines(m.group(1))
    # python-frontmatter found no block it could split, or an empty one
    if not meta and yaml_mapping(m.group(1)) is None:
        raise PostUnreadable("front matter is not a YAML mapping")
    cats = meta.get("categories") or []
    if isinstance(cats, str):
        cats = [cats]
    if not isinstance(cats, list):
        raise PostUnreadable("categories is not a list")
    return FrontMatter(
        title=unbrace(str(meta.get("title") or "")),
        categories=[unbrace(str(c)) for c in cats],
        date=str(meta.get("date") or ""),
        headimg=unbrace(_scalar(meta.get("headimg"))),
    )


def yaml_mapping(block: str) -> dict[str, object] | None:
    try:
        value = yaml.safe_load(block)
    except yaml.YAMLError:
        return None
    return value if isinstance(value, dict) else None


def _date_text(block: str) -> str:
    date = re.search(r"^date: ?(.*)$", block, re.MULTILINE)
    return date.group(1).strip() if date else ""


def _headimg_line(block: str) -> str:
    """The head image of a front matter YAML refuses, read from its line as the writer quotes
    it (``""`` when it is not quoted so)."""
    for m in _IMAGE_LINE.finditer(block):
        if m.group(1) == "headimg":
            return unbrace(m.group(2)).replace("''", "'")
    return ""


def _read_lines(block: str) -> FrontMatter:
    """The line-by-line reading for front matter YAML refuses (the original's bad quoting)."""
    title = re.search(r"^title: ?(.*)$", block, re.MULTILINE)
    cats_block = re.search(r"^categories: ?\n((?: +- .*\n?)+)", block, re.MULTILINE)
    cats = re.findall(r"^ +- (.*)$", cats_block.group(1), re.MULTILINE) if cats_block else []
    raw_title = title.group(1).strip() if title else ""
    if len(raw_title) >= 2 and raw_title[0] == raw_title[-1] and raw_title[0] in "'\"":
        raw_title = raw_title[1:-1]
    return FrontMatter(
        unbrace(raw_title),
        [unbrace(c.strip().strip("'")) for c in cats],
        _date_text(block),
        _headimg_line(block),
    )


# --- the seams of a post, as offsets (for callers that rewrite part of it) ------------------


def split(text: str) -> tuple[str, str] | None:
    """``(head, rest)``: the head is the front matter with the empty line after it, the rest
    the body segment and the post's tail; ``None`` when ``text`` has no such front matter."""
    end = text.find(FRONT_END)
    if end < 0:
        return None
    cut = end + len(FRONT_END)
    return text[:cut], text[cut:]


def body_span(text: str) -> tuple[int, int] | None:
    """``(start, end)`` of the body segment (``<div>`` line through ``</div>``) of a post in
    the form :func:`~newsspider.archive.post.render` writes; ``None`` for any other text."""
    at = text.find(FRONT_END + DIV_OPEN)
    if at < 0 or not text.endswith(TAIL):
        return None
    return at + len(FRONT_END), len(text) - len(TAIL)


def replace_image_values(head: str, new_value: Callable[[str], str | None]) -> str:
    """``head`` (a post's front matter, braces escaped) with each headimg/thumbnail value
    ``v`` replaced by ``new_value(v)`` (``None``: kept), quoted and escaped as the writer does.
    Every other byte stays."""

    def line(m: re.Match[str]) -> str:
        new = new_value(unbrace(m.group(2)).replace("''", "'"))
        if new is None:
            return m.group()
        return f"{m.group(1)}: " + escape_braces(single_quote(new))

    return _IMAGE_LINE.sub(line, head)


def linked_images(text: str) -> set[str]:
    """Every ``img@src`` value a post's text links (as written: braces escaped)."""
    return {a or b for a, b in _IMG_SRC.findall(text)}


# --- what the index derives from a post ------------------------------------------------------


def headimg(head: str) -> str:
    """The head image of a post's front matter (``head`` as :func:`split` gives it)."""
    meta = _meta(head)
    if meta is None:
        return _headimg_line(head)
    return unbrace(_scalar(meta.get("headimg")))


def post_parts(text: str) -> tuple[str, str]:
    """``(headimg, body HTML)`` of a post in the archive format, braces unescaped.

    The body is what :func:`~newsspider.archive.post.render` wrapped in ``<div>``: exact for a
    post this project wrote; for an imported or hand-edited one, the segment after the front
    matter with the wrapper removed as well as it can be.
    """
    parts = split(text)
    if parts is None:
        return "", ""
    head, body = parts
    body = unbrace(body)
    if body.endswith(TAIL):
        body = body[: -len(TAIL)]
    if body.startswith(DIV_OPEN) and body.endswith(DIV_CLOSE):
        body = body[len(DIV_OPEN) : -len(DIV_CLOSE)]
    else:
        wrapped = re.fullmatch(r"\s*<div>[ \t]*\n?(.*?)[ \t]*\n?</div>\s*", body, re.DOTALL)
        body = wrapped.group(1) if wrapped else body.strip()
    return headimg(head), body


def derived_fields(data: bytes | str) -> dict[str, str]:
    """``headimg``, ``body`` and ``text`` of a post's bytes, as the index stores them (a pure
    function of the bytes, which ``content_hash`` pins: so not journaled, and recomputed by
    ``index check --repair``)."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    image, body = post_parts(text)
    return {"headimg": image, "body": body, "text": html_text(body)}
