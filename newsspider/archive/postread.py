"""Reading a post back: the reverse of :func:`newsspider.archive.post.render`, in one place.

The writer is ``post.py``; whatever reads a post's front matter (``index import``, ``index check
--repair``, the tests) reads it here, with python-frontmatter (PyYAML's safe loader), so that
"what a post says" has one answer. The original generator wrote some titles that are not valid
YAML (a ``'`` and a ``"`` unescaped); those are read line by line instead, as the original's
readers (Hexo) tolerated them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import frontmatter
import yaml

#: the front matter block at the start of a post (after the archive's leading empty line)
_BLOCK = re.compile(r"\s*---\n(.*?)\n---\n", re.DOTALL)


class PostUnreadable(ValueError):
    """Bytes that are not a post in the archive format; the message says why, in a few words."""


@dataclass
class FrontMatter:
    """The values a post's front matter holds that the archive reads back (braces restored)."""

    title: str
    categories: list[str]
    date: str


def unbrace(text: str) -> str:
    """FORMAT.md: every ``{``/``}`` of a post is written as ``&#123;``/``&#125;``."""
    return text.replace("&#123;", "{").replace("&#125;", "}")


def read_front_matter(data: bytes) -> FrontMatter:
    """Title, categories and date of a post, or :class:`PostUnreadable` with the reason (not
    UTF-8, no front matter, front matter that is not a mapping)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PostUnreadable(f"not UTF-8 text (byte {exc.start})") from None
    m = _BLOCK.match(text)
    if not m:
        raise PostUnreadable("no front matter (--- block) at the start")
    try:
        meta, _content = frontmatter.parse(text)
    except yaml.YAMLError:
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


def _read_lines(block: str) -> FrontMatter:
    """The line-by-line reading for front matter YAML refuses (the original's bad quoting)."""
    title = re.search(r"^title: ?(.*)$", block, re.MULTILINE)
    cats_block = re.search(r"^categories: ?\n((?: +- .*\n?)+)", block, re.MULTILINE)
    cats = re.findall(r"^ +- (.*)$", cats_block.group(1), re.MULTILINE) if cats_block else []
    raw_title = title.group(1).strip() if title else ""
    if len(raw_title) >= 2 and raw_title[0] == raw_title[-1] and raw_title[0] in "'\"":
        raw_title = raw_title[1:-1]
    return FrontMatter(
        unbrace(raw_title), [unbrace(c.strip().strip("'")) for c in cats], _date_text(block)
    )
