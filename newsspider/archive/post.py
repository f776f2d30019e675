"""The bytes of a post (FORMAT.md "The bytes of a post") and the rules for its values."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from functools import lru_cache

import yaml

from newsspider.markup.body import escape_attr

_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})
#: U+FFFE/U+FFFF (and the other noncharacters) cannot appear in YAML at all
_NONCHAR = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")
_WS_RUN = re.compile(r"\s+")


def clean_text(s: str) -> str:
    """Remove what the title rule removes, keeping whitespace characters as they are."""
    if s.isascii() and s.isprintable():
        return s
    out = []
    for ch in s:
        if ch.isspace() or unicodedata.category(ch) not in _REMOVED_CATEGORIES:
            out.append(ch)
    return _NONCHAR.sub("", "".join(out))


@lru_cache(maxsize=64)
def normalize_title(title: str) -> str:
    """FORMAT.md "title": invisible characters out, whitespace runs to one space, stripped.

    Cached: one article's title is normalised about six times on its way to the archive
    (validation, file name, post, index row), and :func:`clean_text` walks a Chinese title
    character by character."""
    return _WS_RUN.sub(" ", clean_text(title)).strip()


def quote_title(title: str) -> str:
    if "'" not in title:
        return f"'{title}'"
    if '"' not in title and "\\" not in title:
        return f'"{title}"'
    return single_quote(title)


def single_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@lru_cache(maxsize=256)
def yaml_bare_or_quoted(value: str) -> str:
    """Categories and author are bare when YAML reads the bare text back unchanged."""
    try:
        if value and yaml.safe_load("- " + value) == [value]:
            return value
    except yaml.YAMLError:
        pass
    return single_quote(value)


def rfc1123(when: datetime | float) -> str:
    ts = when.timestamp() if isinstance(when, datetime) else when
    return formatdate(ts, usegmt=True)


def escape_braces(text: str) -> str:
    return text.replace("{", "&#123;").replace("}", "&#125;")


@dataclass(frozen=True)
class Post:
    """The values of one post, already normalised."""

    title: str
    categories: tuple[str, str, str]
    image: str
    author: str
    date: str
    body: str


def render(post: Post, *, compact: bool = False) -> str:
    """The whole post text (no final newline, braces escaped)."""
    cats = "".join(f" - {yaml_bare_or_quoted(c)}\n" for c in post.categories)
    image = single_quote(post.image)
    body = f"<div>   \n{post.body}  \n</div>"
    if compact:
        body = compact_body(body)
    text = (
        "\n---\n"
        f"title: {quote_title(post.title)}\n"
        f"categories: \n{cats}"
        f"headimg: {image}\n"
        f"author: {yaml_bare_or_quoted(post.author)}\n"
        "comments: false\n"
        f"date: {post.date}\n"
        f"thumbnail: {image}\n"
        "---\n\n"
        f"{body}\n            "
    )
    return escape_braces(text)


_PROTECTED = re.compile(r"<(pre|textarea)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_BLANK = re.compile(r"[ \t\f\v\r]*")


def compact_body(segment: str) -> str:
    """Drop whitespace-only lines (not inside <pre>/<textarea>) so that a Markdown renderer keeps
    the whole body one HTML block (FORMAT.md "the compact body")."""
    spans = [m.span() for m in _PROTECTED.finditer(segment)]
    out: list[str] = []
    pos = 0
    for line in segment.split("\n"):
        end = pos + len(line)
        blank = _BLANK.fullmatch(line) is not None
        if not blank or any(a < pos and end <= b for a, b in spans):
            out.append(line)
        pos = end + 1
    return "\n".join(out)


_IMG_TAG = re.compile(
    r'<!--.*?-->|<style\b.*?</style>|<img((?:\s+[^\s=>]+(?:="[^"]*")?)*)>', re.DOTALL
)
_SRC_ATTR = re.compile(r'(\ssrc=")([^"]*)(")')


def relink_images(body: str, mapping: dict[str, str]) -> str:
    """Point ``img@src`` at other URLs (local copies, or back to remote) in a rendered body.

    Exact for bodies this module wrote: attribute values are always double-quoted without a raw
    ``"`` in them, and comments and <style> are skipped, so nothing but real <img> tags changes.
    """
    if not mapping:
        return body
    escaped = {escape_attr(k): escape_attr(v) for k, v in mapping.items()}

    def img(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group()
        attrs = _SRC_ATTR.sub(
            lambda a: a.group(1) + escaped.get(a.group(2), a.group(2)) + a.group(3), m.group(1)
        )
        return "<img" + attrs + ">"

    return _IMG_TAG.sub(img, body)
