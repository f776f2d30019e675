"""The article's own stretch of a Sina page, found in the text before anything is parsed.

Why: a Sina article page is mostly chrome (menus, sidebars, comment widgets, footers, inline
scripts); the headline, the date and source line, the body container and the keyword block sit
together in one stretch of 5–20% of the page. Building a tree of the whole page costs as much as
everything else extraction does together, so :func:`article_fragment` cuts out that stretch with
substring searches and a few anchored regex scans, and hands the parser the meta tags the page
objects read plus the stretch. The page objects then run unchanged on the smaller tree.

It is an optimisation with a safe default: whenever the stretch cannot be delimited with
certainty (no known headline, no body container after it, upper-case tags, a comment or script
that never ends), it returns None and the whole page is parsed. ``tests/pages/test_region.py``
checks, on every saved page the tests hold, that both ways give the same :class:`Article`.
"""

from __future__ import annotations

import functools
import re

from lxml import etree

#: an ``<h1>`` start tag holding one of these is the headline of a known template family
#: (``h1.main-title``: F/N/K/T, ``h1#artibodyTitle``: L2/L3, ``h1.art_tit_h1``: M)
HEADLINE_MARKERS = (b"main-title", b"artibodyTitle", b"art_tit_h1")
#: blocks before the headline that page objects read or detect families by: breadcrumbs
#: (F/N ``channel-path``, L3 ``bread``, L2 ``lo_links``), the wrappers L2 and L3 are told apart
#: by, and date/source lines a template may put above the headline
BEFORE_MARKERS = (
    b"channel-path", b'class="bread', b"lo_links", b"blkContainerSblk", b"page-header",
    b"date-source", b"time-source",
)  # fmt: skip
#: the body container, the first one after the headline
BODY_MARKERS = (b'id="artibody"', b'id="article"', b"art_content")
#: blocks after the body container that page objects read: keyword blocks, the L3 editor line
AFTER_MARKERS = (
    b"article-bottom", b'id="keywords"', b"article-keywords", b"art_keywords", b"article-editor",
)  # fmt: skip
#: how far after the body container a keyword block or editor line is looked for (the corpus
#: has them within 1,500 bytes; promos, QR codes and ads sit in between)
AFTER_WINDOW = 5_000
#: how far before the headline the blocks above it are looked for (the corpus: 2,500 bytes),
#: and how far after it the body container (the corpus: 6,600 bytes)
BEFORE_WINDOW = 6_000
BODY_WINDOW = 16_000
#: how many ``<h1>`` tags are looked at for the headline (N has a logo ``h1`` first)
MAX_HEADLINES = 8

#: the one ``<link>`` a family is detected by (K's ``kandian2017`` skin); no other is read
HEAD_LINK_MARKERS = (b"kandian2017",)
#: the meta tags kept: those page objects read (``Page.meta``), and the charset declaration
#: (every name in META_NAMES holds one of these: tests/pages/test_region.py checks it)
META_NEEDLES = (b"article:", b"keywords", b"publishid", b"mediaid", b"charset")

#: put after the stretch: where it lands in the parsed tree tells whether the stretch was cut
#: after the elements it must hold (:func:`settle`)
_SENTINEL_ID = "newsspider-stretch-end"
SENTINEL = f'<i id="{_SENTINEL_ID}"></i>'.encode()
_FIND_SENTINEL = etree.XPath(f'//i[@id="{_SENTINEL_ID}"]')
#: the elements that must be closed before the stretch ends (BODY_MARKERS, AFTER_MARKERS)
_OPEN_IDS = frozenset({"artibody", "article", "keywords", "article-bottom"})
_OPEN_CLASSES = ("art_content", "article-bottom", "article-keywords", "art_keywords",
                 "article-editor")  # fmt: skip

_TAG_NAME = re.compile(rb"<([a-zA-Z][a-zA-Z0-9]*)")
_HEAD_TAGS = re.compile(rb"<(?:(meta)\b[^>]*>|body\b)", re.IGNORECASE)
_SLASH = ord("/")


def _tag_start(page: bytes, pos: int, floor: int) -> int:
    """Start of the tag whose attributes hold ``pos`` (-1 if ``pos`` is not inside a tag)."""
    lt = page.rfind(b"<", floor, pos)
    if lt < 0 or page.find(b">", lt, pos) >= 0:
        return -1
    return lt


def _skip(page: bytes, pos: int, marker: bytes, end: bytes) -> int:
    """Index after the ``end`` that closes a comment/script/style opened at ``pos``, as the
    HTML5 tokenizer of libxml2 2.14 reads it (``<!-->`` and ``<!--->`` are whole comments, and
    ``--!>`` ends one too)."""
    if end == b"-->":
        if page.startswith(b"<!-->", pos):
            return pos + 5
        if page.startswith(b"<!--->", pos):
            return pos + 6
        found = page.find(end, pos + 4)
        bang = page.find(b"--!>", pos + 4, found if found >= 0 else len(page))
        if bang >= 0:
            return bang + 4
        return -1 if found < 0 else found + 3
    found = page.find(end, pos + len(marker))
    if found < 0:  # </SCRIPT>
        found = page.find(end.upper(), pos + len(marker))
    if found < 0:
        return -1
    close = page.find(b">", found)
    return -1 if close < 0 else close + 1


@functools.lru_cache(maxsize=16)
def _tokens(tag: bytes) -> re.Pattern[bytes]:
    """What changes the nesting of ``tag``: its start and end tags (any case), and the raw
    blocks whose content is not markup (comments, scripts, styles)."""
    return re.compile(
        rb"<(/?)(" + re.escape(tag) + rb")(?=[\s/>])|<!--|<script\b|<style\b", re.IGNORECASE
    )


def element_end(page: bytes, start: int, tag: bytes) -> int:
    """Index just after the end tag matching the ``<tag`` at ``start``, counting nested tags of
    the same name the way libxml2 does (an end tag closes the innermost open one), skipping
    comments, scripts and styles. -1 when it cannot be told (never closed, an upper-case tag,
    a raw block that never ends): the caller then parses the whole page."""
    tokens = _tokens(tag)
    depth = 0
    pos = start
    while True:
        m = tokens.search(page, pos)
        if m is None:
            return -1
        if m.group(2) is None:  # a comment, script or style: jump past its end
            token = m.group(0)
            raw = token.lower()
            end = b"-->" if raw == b"<!--" else b"</" + raw[1:]
            pos = _skip(page, m.start(), token, end)
            if pos < 0:
                return -1
            continue
        if m.group(2) != tag:
            return -1  # <DIV>: the page mixes cases; leave it to the parser
        gt = page.find(b">", m.end())
        if gt < 0:
            return -1
        if not m.group(1):
            if page[gt - 1] != _SLASH:  # <div/> opens nothing
                depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return gt + 1
        pos = gt + 1


def _block(
    page: bytes, marker: bytes, lo: int, hi: int, *, ends: bool = True
) -> tuple[int, int] | None:
    """(start, end) of the element whose start tag holds ``marker`` (the first such in
    ``page[lo:hi]``), or None when there is none; end is -1 when it cannot be told (and when
    ``ends`` is false: the caller needs only the start)."""
    pos = page.find(marker, lo, hi)
    if pos < 0:
        return None
    start = _tag_start(page, pos, lo)
    if start < 0:
        return None
    m = _TAG_NAME.match(page, start)
    if m is None:
        return None
    return start, element_end(page, start, m.group(1)) if ends else -1


def _headline(page: bytes, body: int) -> int:
    """Start of the first ``<h1>`` that is a known template's headline, or -1."""
    pos = body
    for _ in range(MAX_HEADLINES):
        pos = page.find(b"<h1", pos)
        if pos < 0:
            return -1
        gt = page.find(b">", pos)
        if gt < 0:
            return -1
        tag = page[pos:gt]
        if any(m in tag for m in HEADLINE_MARKERS):
            return pos
        pos = gt
    return -1


def _head(page: bytes) -> tuple[int, bytes] | None:
    """Where ``<body`` starts, and the head's ``<meta>`` tags page objects read plus the
    ``<link>`` tags detection reads; None when there is no ``<body`` or a tag is written in
    capitals (then the whole page is parsed)."""
    tags = []
    for m in _HEAD_TAGS.finditer(page):
        tag = m.group(0)
        if m.group(1) is None:
            if tag != b"<body":
                return None
            body = m.start()
            break
        if tag[1:5] != b"meta":
            return None
        low = tag.lower()
        # META_NEEDLES, spelt out: a generator over them costs 2 us a tag
        if (b"article:" in low or b"keywords" in low or b"publishid" in low
                or b"mediaid" in low or b"charset" in low):  # fmt: skip
            tags.append(tag)
    else:
        return None
    for marker in HEAD_LINK_MARKERS:
        found = page.find(marker, 0, body)
        start = page.rfind(b"<link", 0, found) if found >= 0 else -1
        end = page.find(b">", found) if found >= 0 else -1
        if start >= 0 and end >= 0 and page.find(b">", start, found) < 0:
            tags.append(page[start : end + 1])
    return body, b"".join(tags)


def article_fragment(page: bytes) -> bytes | None:
    """The page's ``<meta>`` tags and its article stretch, as a small HTML document (bytes, in
    the page's encoding), or None when the stretch cannot be delimited with certainty (then the
    whole page is parsed)."""
    opened = page.rfind(b"<!--")
    if opened >= 0 and page.find(b"-->", opened) < 0 and page.find(b"--!>", opened) < 0:
        return None  # maybe a comment that never ends: the whole-page parse tells
    head = _head(page)
    if head is None:
        return None
    body, tags = head
    h1 = _headline(page, body)
    if h1 < 0 or _in_raw_text(page, body, h1):
        return None
    start = h1
    lo = max(body, h1 - BEFORE_WINDOW)
    for marker in BEFORE_MARKERS:
        found = _block(page, marker, lo, h1, ends=False)
        if found is not None and found[0] < start and not _in_raw_text(page, body, found[0]):
            start = found[0]
    container = None
    hi = min(len(page), h1 + BODY_WINDOW)
    for marker in BODY_MARKERS:
        found = _block(page, marker, h1, hi, ends=False)
        if found is not None and (container is None or found[0] < container[0]):
            container = found
    if container is None or _in_raw_text(page, h1, container[0]):
        return None
    m = _TAG_NAME.match(page, container[0])
    end = element_end(page, container[0], m.group(1)) if m else -1
    if end < 0:
        return None
    body_end = end
    window = min(len(page), body_end + AFTER_WINDOW)
    for marker in AFTER_MARKERS:
        found = _block(page, marker, body_end, window)
        if found is not None:
            if found[1] < 0:
                return None
            end = max(end, found[1])
    region = page[start:end]
    if b"<DIV" in region or b"</DIV" in region:
        return None
    return b"".join((b"<html><head>", tags, b"</head><body>", region, SENTINEL, b"</body></html>"))


def settle(root: etree._Element) -> bool:
    """Check a parsed fragment and take its end mark out: False when the body container or a
    block after it was still open where the stretch was cut (the text scan misjudged where it
    ends, e.g. a ``</div>`` inside a ``<textarea>``), and the whole page must be parsed."""
    el = root[-1][-1] if len(root) and len(root[-1]) else None  # body's last child, mostly
    if el is None or el.tag != "i" or el.get("id") != _SENTINEL_ID:
        mark = _FIND_SENTINEL(root)
        if not mark:
            return False
        el = mark[0]
    for anc in el.iterancestors():
        if anc.get("id") in _OPEN_IDS:
            return False
        cls = anc.get("class")
        if cls and any(c in cls for c in _OPEN_CLASSES):
            return False
    el.getparent().remove(el)
    return True


def _in_raw_text(page: bytes, lo: int, pos: int) -> bool:
    """Does ``pos`` lie inside a comment or a script opened after ``lo`` (a headline or body
    container written there is not part of the page)?"""
    opened = page.rfind(b"<!--", lo, pos)
    if opened >= 0 and page.find(b"-->", opened, pos) < 0 and page.find(b"--!>", opened, pos) < 0:
        return True
    script = page.rfind(b"<script", lo, pos)
    return script >= 0 and page.find(b"</script", script, pos) < 0
