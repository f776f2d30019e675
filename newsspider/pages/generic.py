"""The generic extractor: the last page object, for a skin no family knows.

Why: each family reads one Sina skin by its ids and classes, which is what makes the archive
byte-exact, and also what stops it when Sina re-skins its pages. A re-skin renames ids and
classes; it rarely changes what feed readers, search engines and Weibo read (the meta tags and
the ``<title>``), the tags themselves (a headline is still a heading), the way a date is
printed, the text, or the images' URLs. This page object reads only those:

- the headline: the heading (or, on a 2005 table layout, the cell) whose text is ``og:title``,
  or the start of ``<title>`` before the site suffix (``标题|关键词_新浪财经_新浪网``);
- the shown date: the first ``2019年09月09日 07:47`` (also ``2016年05月25日10:10``,
  ``2005.08.26 05:39``, ``2018-12-28 19:55``) in the text between the headline and the body
  (else the last one just above the headline), else ``weibo: article:create_at``, else
  ``article:published_time``, else the CMS's ``published at`` stamp; the source is the short
  text right after that date (a link's target is its URL);
- the body: the densest block of paragraph text (readability's and GNE's idea: every
  paragraph's own text, links excluded, counts for its parent and half for its grandparent,
  and the block's link density discounts it), with the body containers a page splits in two
  (a 2005 ``font#zoom`` either side of an ad) joined; paragraphs are ``<p>``s, else ``<div>``s
  of text, else ``<br>``-separated runs; the CMS's own text markers (``<!-- 原始正文start -->``,
  ``publish_helper``) bound the text when the body has them; an in-paragraph ad slot lxml
  pushed out of its ``<p>`` is put back;
- the images of that block, in order, minus what a skin-independent rule tells is not a
  picture of the article (1x1 spacers, hidden share images, live charts, video posters).

It refuses what is not an article, and says why: no heading that matches the page's title, no
date, no block of text right after the headline (a channel page, a list, a video-only page, an
error page served with 200). Precision over recall: when unsure it refuses, and the dispatcher
then reports the family's (or the page's) own reason. The Article it returns says
``family = "generic"``; the body is the block it found, rendered by the same body transform as
every family's container (:func:`newsspider.markup.body.render_bodies`).

When a page object found its body container but no paragraph in it (``empty_body``), the
body is looked for around that container only, and must be or hold it.

Pure lxml on the tree the dispatcher already parsed; no second parse.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from functools import cached_property

from lxml import etree

from newsspider.article import Article, NotAnArticle
from newsspider.markup.text import strip_private_use
from newsspider.pages.base import (
    BEIJING,
    Page,
    clean_editor,
    is_link_only,
    is_noise_block,
    legacy_doc_id,
    parse_beijing,
    text_content,
    walk_paragraphs,
)
from newsspider.pages.fields import field

FAMILY = "generic"

#: the least paragraph text (links excluded, whitespace removed) an article body holds; the
#: shortest article of the corpus has about 200 characters, a video-only page's caption 30
MIN_TEXT = 60
#: the most text that may stand between the headline and the body: date and source lines,
#: share bars, a lead image's caption; a channel page's "headline" is followed by lists
MAX_GAP_TEXT = 800
#: a body block whose link text is more than this share of its text is a list of links
MAX_LINK_DENSITY = 0.35
#: the least text a block's own text runs (outside its children) must hold to count as
#: paragraphs written without <p>
MIN_RUN = 20
#: a headline element holds its text and a few inline elements (a stray ``</i>``, a badge)
MAX_HEADING_CHILDREN = 6
#: how much text before the headline is searched for the date when none follows it (a skin
#: may put the date and source line above the headline)
DATE_BEFORE_WINDOW = 200
#: how much text after the headline is searched for the shown date (characters)
DATE_WINDOW = 400

_WS = re.compile(r"\s+")
_QUOTES = re.compile(r"[\s\"'“”‘’「」『』]+")
#: the site suffix of a Sina ``<title>``: ``标题|关键词_新浪财经_新浪网``, ``标题__商贸_…``
_TITLE_CUT = re.compile(r"[|｜_]")
#: a shown date with its minute; the day alone when no time follows it
_SHOWN_DATE = re.compile(
    r"(\d{4})\s*(?:年|[-./])\s*(\d{1,2})\s*(?:月|[-./])\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2})\s*[:：]\s*(\d{2}))?"
)
#: text right after a date that is not a source: labels, counts, buttons
_NOT_SOURCE = re.compile(
    r"^(?:\d|评论|分享|字号|收藏|打印|关闭|关注|订阅|来源[:：]?$|作者|[|/:：·\-—]+$)"
)
_SOURCE_LABEL = re.compile(r"^(?:来源|稿源|出处)\s*[:：]\s*")
#: what a heading of a skin is written in: heading tags first, then what a table layout used
_HEADING_TAGS = ("h1", "h2", "h3", "h4", "th", "td", "div", "span", "font", "p", "b", "strong")
_HEADING_TAG_SET = frozenset(_HEADING_TAGS)
#: blocks whose own text runs (text and <br>, no <p>) may be a body's paragraphs
_RUN_BLOCKS = ("div", "td", "font", "section", "article")
#: text nodes of the page's body holding a string (the start of the headline)
_TEXT_HAS = etree.XPath("//body//text()[contains(., $s)]")
_HEADING_RANK = {"h1": 3, "h2": 2, "h3": 2, "h4": 1}
#: elements whose text no reader reads as the page's words
_SILENT = frozenset({"script", "style", "noscript", "iframe", "textarea", "select", "option"})
#: image URLs that are never an article's picture, whatever the skin: live charts, video
#: posters, Sina's share image, 1x1 spacers (those body.py knows are left out already)
_NOT_PICTURE_URL = re.compile(
    r"//image\.sinajs\.cn/newchart/|//p\.ivideo\.sina\.com\.cn/|/default/[0-9a-f]{8}/"
    r"|\.sinajs\.cn/|/blank\.gif$|/c\.gif$",
    re.IGNORECASE,
)
#: a stock quote a browser snapshot caught in a live-price span: (price, change, change%)
_LIVE_QUOTE = re.compile(r"\(\s*-?\d+(?:\.\d+)?,\s*-?\d+(?:\.\d+)?,\s*-?\d+(?:\.\d+)?%\)")
#: the CMS's stamp at the top of a page it wrote out
_CMS_PUBLISHED = re.compile(r"<!--\s*\[[\d, ]*\]?\s*published at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
#: paragraphs of Sina boilerplate a skin marks by class but whose words give them away
_NOISE_TEXT = (
    "特别声明：",
    "特别声明:",
    "新浪声明：",
    "新浪声明:",
    "点击进入专题",
    "进入【新浪财经股吧】",
)
#: paragraphs of Sina's promos that open a body (新浪众测) or close it (the app QR line)
_NOISE_WORDS = ("快来新浪众测", "尽在新浪财经APP")
#: what a pager line under a chapter or a long article is made of
_NAV_LINE = re.compile(
    r"上一篇|下一篇|上一页|下一页|上一章|下一章|上页|下页|首页|尾页|目录|返回|[\s\[\]【】()（）|｜<>《》«»]"
)
#: the CMS's own text markers (L3, L2): comments survive any re-skin
_TEXT_REGIONS = (
    ("原始正文start", "原始正文end"),
    ("publish_helper name='原始正文'", "publish_helper_end"),
)


def _key(text: str) -> str:
    """A headline as compared: NFKC (full- and half-width forms alike), no whitespace, no
    quotation marks (a ``<title>``, ``og:title`` and a heading differ in those, never in
    words)."""
    return _QUOTES.sub("", unicodedata.normalize("NFKC", text))


def _near(key: str, og: str) -> bool:
    """Is one of two headline keys the other with a short addition at its end?"""
    short, long = sorted((key, og), key=len)
    return long.startswith(short) and len(short) >= 0.8 * len(long)


def _squeezed(text: str) -> str:
    return _WS.sub(" ", text.replace("\u3000", " ").replace("\xa0", " ")).strip()


def _texts(el: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    """Every text node under ``el`` in document order, each with the element whose text it is
    (a tail belongs to its parent), skipping scripts, styles and comments."""
    if el.text:
        yield el.text, el
    for child in el:
        if isinstance(child.tag, str) and child.tag not in _SILENT:
            yield from _texts(child)
        if child.tail:
            yield child.tail, el


def _chars(text: str) -> int:
    """Characters of ``text`` that are not whitespace (what a reader reads)."""
    if text.isspace():  # most text nodes between tags: indentation
        return 0
    return len("".join(text.split()))


def _own_text_len(el: etree._Element) -> tuple[int, int]:
    """(characters of text, characters of link text) under ``el``, whitespace, scripts and
    styles excluded; from libxml2's text serialiser (a walk in Python costs ten times more)."""
    if not len(el):
        n = _chars(el.text or "")
        return n, n if el.tag == "a" else 0
    total = _chars(text_content(el))
    for silent in el.iter(*_SILENT):
        total -= _chars(text_content(silent))
    linked = sum(_chars(text_content(a)) for a in el.iter("a"))
    return max(total, 0), linked


class _Reached(Exception):
    """The walk after the headline reached the body."""


class _TooFar(Exception):
    """The walk after the headline read more text than stands between a headline and its
    body."""


def _gap_nodes(
    head: etree._Element, stop: etree._Element, limit: int
) -> list[tuple[str, etree._Element]] | None:
    """The text nodes (with the element owning each) between ``head`` and ``stop`` in document
    order, or None when ``stop`` does not come within ``limit`` characters of text."""
    nodes: list[tuple[str, etree._Element]] = []
    length = 0

    def add(text: str, owner: etree._Element) -> None:
        nonlocal length
        n = _chars(text)
        if n:
            nodes.append((text, owner))
            length += n
            if length > limit:
                raise _TooFar

    def visit(el: etree._Element) -> None:
        if el is stop:
            raise _Reached
        if el.text:
            add(el.text, el)
        for child in el:
            if isinstance(child.tag, str) and child.tag not in _SILENT:
                visit(child)
            if child.tail:
                add(child.tail, el)

    node: etree._Element | None = head
    try:
        while node is not None:
            if node is stop:
                return nodes  # the body holds the headline
            parent = node.getparent()
            if node.tail and parent is not None:
                add(node.tail, parent)
            for sibling in node.itersiblings():
                if isinstance(sibling.tag, str) and sibling.tag not in _SILENT:
                    visit(sibling)
                if sibling.tail and parent is not None:
                    add(sibling.tail, parent)
            node = parent
    except _Reached:
        return nodes
    except _TooFar:
        return None
    return None


class GenericPage(Page):
    """A page of a skin no family knows, read by what a re-skin leaves alone (module doc)."""

    family = FAMILY
    not_found_reason = "no block of article text after the headline"

    def __init__(
        self,
        url: str,
        body: bytes,
        content_type: str | None = None,
        *,
        decoded: tuple[str, str] | None = None,
        root: etree._Element | None = None,
        within: list[etree._Element] | None = None,
        holding: list[etree._Element] | None = None,
    ) -> None:
        """``within``: where to look for the body (around the containers a page object found
        but could not read: text in ``<br>`` runs, no ``<p>``), never elsewhere on the page;
        ``holding``: those containers, one of which the body found must be or hold (a block
        of teasers under an empty body is not its text)."""
        super().__init__(url, body, content_type, decoded=decoded, root=root)
        self.within = within
        self.holding = holding

    @classmethod
    def matches(cls, probe: object) -> bool:
        """Never chosen by detection: the dispatcher calls it when the families give up."""
        return False

    # --- headline ----------------------------------------------------------------------------
    @cached_property
    def _title_hints(self) -> tuple[str, str]:
        """(``og:title``, ``<title>`` before its site suffix), whitespace-free for comparing."""
        og = self.metas.get("og:title", "")
        el = self.root.find(".//title")
        page_title = text_content(el) if el is not None else ""
        return _key(og), _key(page_title)

    @cached_property
    def _headline(self) -> tuple[etree._Element | None, str]:
        """The element that shows the headline, and the headline; (None, og:title) when only
        the meta tag has it."""
        og, page_title = self._title_hints
        best: tuple[int, int, int] | None = None
        found: etree._Element | None = None
        seen: set[etree._Element] = set()
        for stage in (self.root.iter("h1", "h2", "h3", "h4"), self._text_holders()):
            for position, el in enumerate(stage):
                if el in seen or len(el) > MAX_HEADING_CHILDREN:
                    continue
                seen.add(el)
                key = _key(text_content(el))
                if len(key) < 4 or len(key) > 120:
                    continue
                if og and key == og:
                    quality = 2
                elif page_title.startswith(key) and (
                    len(key) == len(page_title) or _TITLE_CUT.match(page_title, len(key))
                ):
                    quality = 1
                elif og and _near(key, og):
                    quality = 1  # a heading with a tag og:title has not ("(图)"), or without one
                else:
                    continue
                rank = (quality, _HEADING_RANK.get(el.tag, 0), -position)
                if best is None or rank > best:
                    best, found = rank, el
            if found is not None:
                break  # a heading shows it: no need to search every text of the page
        if found is not None:  # (a GBK page's odd byte can decode to a private-use character)
            return found, _squeezed(strip_private_use(text_content(found)))
        meta = _squeezed(self.metas.get("og:title", ""))
        return None, meta

    def _text_holders(self) -> Iterator[etree._Element]:
        """Elements (of a heading's tags, up to two levels above the text) holding a text node
        that starts the headline, for a skin that shows it in no heading (a 2005 table cell):
        an XPath search in libxml2 instead of reading the text of every element."""
        raw = self.metas.get("og:title", "").strip()
        if not raw:
            el = self.root.find(".//title")
            raw = text_content(el).strip() if el is not None else ""
        probe = raw.split()[0][:6] if raw.split() else ""
        if len(probe) < 2:
            return
        for hit in _TEXT_HAS(self.root, s=probe):
            owner = hit.getparent()
            if owner is None:
                continue
            if hit.is_tail:
                owner = owner.getparent()
            for _ in range(3):
                if owner is None:
                    break
                if owner.tag in _HEADING_TAG_SET:
                    yield owner
                owner = owner.getparent()

    @field
    def title(self) -> str:
        return self._headline[1]

    # --- body --------------------------------------------------------------------------------
    @cached_property
    def _scores(self) -> dict[etree._Element, float]:
        """Readability's scoring: each paragraph's own text (links excluded) for its parent,
        half for its grandparent."""
        scores: dict[etree._Element, float] = {}
        scopes = self.within if self.within is not None else [self.root]
        for p in (p for scope in scopes for p in scope.iter("p")):
            total, linked = _own_text_len(p)
            text = total - linked
            if text < 10:
                continue
            parent = p.getparent()
            if parent is None:
                continue
            scores[parent] = scores.get(parent, 0.0) + text
            grand = parent.getparent()
            if grand is not None:
                scores[grand] = scores.get(grand, 0.0) + text / 2
        # a body written without <p>: a block whose own text runs between <br>s (a 2005 cell or
        # font) is a body itself: its text counts for it, and half for its parent; a block of
        # text without <br> is a paragraph written as a <div>: it counts as a <p> does
        for el in (el for scope in scopes for el in scope.iter(*_RUN_BLOCKS)):
            own = 0
            breaks = False
            text = el.text
            if text and len(text) >= 10 and not text.isspace():
                own += _chars(text)
            for child in el:
                if child.tag == "br":
                    breaks = True
                text = child.tail
                if text and len(text) >= 10 and not text.isspace():
                    own += _chars(text)
            if own < MIN_RUN:
                continue
            target = el if breaks else el.getparent()
            if target is None:
                continue
            scores[target] = scores.get(target, 0.0) + own
            above = target.getparent()
            if above is not None:
                scores[above] = scores.get(above, 0.0) + own / 2
        if self.within is not None:  # parents and grandparents outside the containers go
            inside = {el for scope in self.within for el in scope.iter()}
            scores = {el: v for el, v in scores.items() if el in inside}
        return scores

    @cached_property
    def containers(self) -> list[etree._Element]:
        """The densest block after the headline, with its twins (module doc)."""
        scores = self._scores
        if not scores:
            raise NotAnArticle(f"{self.not_found_reason} ({FAMILY})", stat="no_body")
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:5]
        best: etree._Element | None = None
        best_value = 0.0
        for el, score in ranked:
            total, linked = _own_text_len(el)
            if total <= 0:
                continue
            density = linked / total
            value = score * (1 - density)
            if density <= MAX_LINK_DENSITY and value > best_value:
                best, best_value = el, value
        if best is None or best_value < MIN_TEXT:
            raise NotAnArticle(
                f"{self.not_found_reason}: the densest block holds too little text or mostly "
                f"links ({FAMILY})",
                stat="no_body",
            )
        if self.holding is not None and not any(
            held is best or any(anc is best for anc in held.iterancestors())
            for held in self.holding
        ):
            raise NotAnArticle(
                f"{self.not_found_reason}: the densest block is not the page object's body "
                f"container ({FAMILY})",
                stat="no_body",
            )
        found = [best]
        parent = best.getparent()
        if parent is not None and (best.get("id") or best.get("class")):
            twins = [
                sib
                for sib in parent
                if sib is not best
                and sib.tag == best.tag
                and sib.get("id") == best.get("id")
                and sib.get("class") == best.get("class")
                and scores.get(sib, 0.0) > 0
            ]
            if twins:
                found = [el for el in parent if el is best or el in twins]
        for container in found:
            _renest_ads(container)
        return found

    @cached_property
    def container(self) -> etree._Element:
        return self.containers[0]

    @cached_property
    def _head_inside(self) -> dict[etree._Element, int] | None:
        """When the body block holds the headline itself (a skin that puts the headline in the
        article's box): the document order of the block's elements; else None."""
        head, start = self._headline[0], self.containers[0]
        if head is None or not any(anc is start for anc in head.iterancestors()):
            return None
        return {el: i for i, el in enumerate(start.iter())}

    @cached_property
    def _gap(self) -> tuple[str, list[tuple[str, etree._Element]]]:
        """The text between the headline and the body (joined), and its text nodes; raises when
        the body does not follow the headline closely."""
        head = self._headline[0]
        if head is None:
            return "", []
        stop: etree._Element | None = self.containers[0]
        order = self._head_inside
        if order is not None:  # the body's first paragraph after the headline ends the gap
            after = order[head] + sum(1 for _ in head.iter())
            stop = next(
                (p for p, _ in self._raw_roles[0]
                 if order.get(p, -1) >= after and not _is_date_line(text_content(p))),
                None,
            )  # fmt: skip
        nodes = _gap_nodes(head, stop, MAX_GAP_TEXT) if stop is not None else None
        if nodes is None:
            raise NotAnArticle(
                f"{self.not_found_reason}: the densest block of text does not follow the "
                f"headline ({FAMILY})",
                stat="no_body",
            )
        return " ".join(t for t, _ in nodes), nodes

    @cached_property
    def _raw_roles(self) -> list[list[tuple[etree._Element, bool]]]:
        """Each container's paragraphs (``<p>``, else leaf blocks, else the container's own
        ``<br>`` runs), with whether the CMS's text markers put them in the text."""
        out = []
        for container in self.containers:
            region = next(
                (r for r in _TEXT_REGIONS
                 if any(r[0] in (c.text or "") for c in container.iter(etree.Comment))),
                None,
            )  # fmt: skip
            out.append(walk_paragraphs(container, region) or _block_paragraphs(container))
        return out

    @cached_property
    def _paragraph_roles(self) -> list[tuple[etree._Element, bool]]:
        found = [role for roles in self._raw_roles for role in roles]
        order = self._head_inside
        if order is None:
            return found
        # a body that holds the headline: what comes before the headline's end, and the date
        # and source line after it, are not the article's text
        head = self._headline[0]
        assert head is not None
        after = order[head] + sum(1 for _ in head.iter())
        gap = {owner for _, owner in self._gap[1]}
        return [
            (p, inside and order.get(p, -1) >= after and p not in gap
             and not any(o in gap for o in p.iter()))
            for p, inside in found
        ]  # fmt: skip

    @field
    def paragraphs(self) -> list[str]:
        """The families' text rules, and without the live quotes a re-skin renamed the spans
        of (``span#quote_JPM`` → ``(115.395, 2.79, 2.47%)``, a price, not the article's)."""
        out = []
        for text in super().paragraphs():
            if "%)" in text:
                text = _LIVE_QUOTE.sub("", text).strip()
            if text:
                out.append(text)
        return out

    def is_noise(self, p: etree._Element, text: str | None = None) -> bool:
        if text is None:
            text = text_content(p).strip("\u3000\xa0 \t\r\n")
        if text.startswith(_NOISE_TEXT) or any(w in text for w in _NOISE_WORDS) or _is_hidden(p):
            return True
        if text and not _NAV_LINE.sub("", text):  # [上一篇] [下一篇]: the pager, not text
            return True
        return super().is_noise(p, text)

    def noise_images(self) -> set[str]:
        """Besides the family rules (images in paragraphs that are not text): images in hidden
        blocks or in a video player, and URLs that are never an article's picture."""
        noise = super().noise_images()
        content = self._rendered.content_images
        for url in content:
            if _NOT_PICTURE_URL.search(url):
                noise.add(url)
        for container in self.containers:
            players = " ".join(
                s.text or "" for s in container.iter("script") if "video" in (s.text or "").lower()
            )
            for img in container.iter("img"):
                src = (img.get("src") or img.get("data-src") or "").strip()
                if not src:
                    continue
                tail = src.split("//", 1)[-1]
                if (
                    _is_hidden(img)
                    or _in_player(img, container)
                    or (players and tail in players)
                    or _in_promo(img, container)
                ):
                    noise.update(u for u in content if u.endswith(tail))
        return noise

    # --- date and source ---------------------------------------------------------------------
    @cached_property
    def _shown(self) -> tuple[datetime | None, str, str]:
        """(the date shown near the headline, the source after it, the source's link): the
        first date after the headline, else the last one in the text just before it."""
        found = _date_in(self._gap[1], first=True)
        if found is None and self._headline[0] is not None:
            found = _date_in(_text_before(self._headline[0], DATE_BEFORE_WINDOW), first=False)
        if found is None:
            return None, "", ""
        when, nodes, index, rest = found
        if when.hour == 0 and when.minute == 0 and rest is None:
            return when, "", ""  # a day without a time: the meta tags may say more
        source, link = self._source_after(nodes, index, rest or "")
        return when, source, link

    def _source_after(
        self, nodes: list[tuple[str, etree._Element]], index: int, rest: str
    ) -> tuple[str, str]:
        """The source printed right after the date: the rest of the date's text node, else the
        next short text (a link's target is its URL)."""
        candidates = [(rest, None)] + [(t, o) for t, o in nodes[index + 1 : index + 4]]
        for text, owner in candidates:
            name = _SOURCE_LABEL.sub("", _squeezed(text))
            if not name:
                continue
            if _NOT_SOURCE.match(name) or len(name) > 30:
                break
            href = owner.get("href") if owner is not None and owner.tag == "a" else None
            return name, self.resolve(href)
        return self.meta("article:author", "mediaid"), ""

    @field
    def published(self) -> datetime | None:
        when = self._shown[0]
        meta = self.created_at() or self.first_published() or self._cms_published()
        if when is None:
            return meta.replace(second=0) if meta is not None else None
        if when.hour == 0 and when.minute == 0 and meta is not None and meta.date() == when.date():
            return meta.replace(second=0)
        return when

    def _cms_published(self) -> datetime | None:
        """The CMS's ``<!--[62,3,68306] published at 2005-03-31 11:37:18 …-->`` (or
        ``<!-- [ published at … ] -->``) at the top of the page: the last time it was written
        out, the only date some 2004 pages have (a book chapter shows none)."""
        m = _CMS_PUBLISHED.search(self.text[:4096])
        return parse_beijing(m.group(1)) if m else None

    @field
    def source(self) -> tuple[str, str]:
        _, name, link = self._shown
        return name, link

    @field
    def doc_id(self) -> str:
        return super().doc_id() or legacy_doc_id(self.text)

    @field
    def editor(self) -> str:
        for p, _inside in self._paragraph_roles:
            text = text_content(p).strip("\u3000\xa0 \t\r\n")
            if text.startswith(("责任编辑：", "责任编辑:")):
                return clean_editor(text)
        return ""

    def check(self) -> None:
        """The family refusals, after the generic extractor's own: a headline that is a
        heading of the page, a body that follows it, a date."""
        if not self.value("title"):
            raise NotAnArticle(
                f"no headline found: no heading matches og:title or <title> ({FAMILY})",
                stat="no_title",
            )
        if self._headline[0] is None:
            raise NotAnArticle(
                f"no headline found: no heading on the page shows og:title ({FAMILY})",
                stat="no_title",
            )
        self._gap  # noqa: B018  (raises when the body does not follow the headline)
        if self.published() is None:
            raise NotAnArticle(
                f"no date near the headline and none in the meta tags ({FAMILY})",
                stat="no_date",
            )
        super().check()


def _date_in(
    nodes: list[tuple[str, etree._Element]], *, first: bool
) -> tuple[datetime, list[tuple[str, etree._Element]], int, str | None] | None:
    """The first (or last) shown date in these text nodes: (when, the nodes, the index of the
    node where the date ends, the rest of that node after it; None when the date has no
    time)."""
    joined = ""
    ends: list[int] = []
    for text, _owner in nodes:
        joined += text + " "
        ends.append(len(joined))
        if first and len(joined) > DATE_WINDOW:
            break
    found = None
    for m in _SHOWN_DATE.finditer(joined):
        y, mo, d, h, mi = m.groups()
        try:
            when = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), tzinfo=BEIJING)
        except ValueError:
            continue
        if not (1995 <= when.year <= 2100):
            continue
        index = next(i for i, end in enumerate(ends) if end > m.end() - 1)
        found = (when, nodes, index, joined[m.end() : ends[index]] if h is not None else None)
        if first:
            break
    return found


#: what an in-paragraph ad slot is made of (the elements between the paragraph's opening
#: part and the rest of its sentence)
_AD_PARTS = frozenset({"table", "iframe", "script", "noscript", "ins", "span", "div", "center"})


def _renest_ads(container: etree._Element) -> None:
    """Put an in-paragraph ad slot back into its paragraph, as a browser (quirks mode) builds
    it: a 2004 page writes ``<p>…元老<!-- 画中画 begin --><table>ad</table>…-->，还在香港时…``,
    and lxml closes the ``<p>`` at the ``<table>``, leaving the rest of the sentence outside
    any paragraph. Only when the paragraph ends in a comment (the slot's marker), the slot
    holds a table or an iframe, and the sentence goes on right after it."""
    for p in list(container.iter("p")):
        last = p[-1] if len(p) else None
        if last is None or last.tag is not etree.Comment or (last.tail or "").strip():
            continue
        if (p.tail or "").strip():
            continue
        run: list[etree._Element] = []
        sibling = p.getnext()
        while sibling is not None and len(run) < 12:
            tag = sibling.tag
            if isinstance(tag, str) and tag not in _AD_PARTS:
                break
            run.append(sibling)
            if (sibling.tail or "").strip():
                break
            sibling = sibling.getnext()
        else:
            continue
        if not run or not (run[-1].tail or "").strip():
            continue
        if not any(el.tag in ("table", "iframe") for el in run if isinstance(el.tag, str)):
            continue
        for el in run:
            p.append(el)  # moves it, with its tail (the rest of the sentence)


def _is_date_line(text: str) -> bool:
    """A short line holding a date with its time (a date and source line, not a paragraph
    that mentions a day)."""
    m = _SHOWN_DATE.search(text)
    return m is not None and m.group(4) is not None and _chars(text) - _chars(m.group()) < 40


def _text_before(el: etree._Element, limit: int) -> list[tuple[str, etree._Element]]:
    """The text nodes just before ``el`` (up to ``limit`` characters), in document order."""
    out: list[tuple[str, etree._Element]] = []
    length = 0
    node: etree._Element | None = el
    while node is not None and length < limit:
        parent = node.getparent()
        for sibling in node.itersiblings(preceding=True):
            chunk: list[tuple[str, etree._Element]] = []
            if isinstance(sibling.tag, str) and sibling.tag not in _SILENT:
                chunk.extend(_texts(sibling))
            if sibling.tail and parent is not None:
                chunk.append((sibling.tail, parent))
            for text, owner in reversed(chunk):
                if _chars(text):
                    out.append((text, owner))
                    length += _chars(text)
            if length >= limit:
                break
        if parent is not None and parent.text and length < limit:
            out.append((parent.text, parent))
            length += _chars(parent.text)
        node = parent
    out.reverse()
    return out


_LEAF_BLOCKS = ("div", "section", "li", "blockquote", "h2", "h3", "h4", "h5", "h6")


def _block_paragraphs(container: etree._Element) -> list[tuple[etree._Element, bool]]:
    """The paragraphs of a body written without ``<p>``: its own ``<br>``-separated text runs
    when it has any (a 2005 ``font#zoom``), else its innermost blocks that hold text (a skin
    writing each paragraph as a ``<div>``)."""
    own = _chars(container.text or "") + sum(_chars(c.tail or "") for c in container)
    if own >= MIN_RUN:
        return [(container, True)]
    leaves = [
        el
        for el in container.iter(*_LEAF_BLOCKS)
        if el is not container
        and not any(True for _ in el.iter(*_LEAF_BLOCKS) if _ is not el)
        and not is_noise_block(el)
        # a picture's wrapper (its caption is no paragraph), a link alone (a video's title,
        # a related article), a player's labels
        and el.find(".//img") is None
        and not is_link_only(el)
        and not _in_player(el, container)
    ]
    return [(el, True) for el in leaves] or [(container, True)]


def mark_fallback(article: Article, stat: str) -> None:
    """Note on the item (not a field: never exported or archived) after which refusal of the
    page objects the generic extractor made it (``no_body``, ``no_title``,
    ``unknown_template``...), for the health check and the log."""
    article.__dict__["_generic_after"] = stat


def fallback_of(article: Article) -> str | None:
    """The refusal :func:`mark_fallback` noted, or None for an article a page object made."""
    return article.__dict__.get("_generic_after")


def _is_hidden(el: etree._Element) -> bool:
    """Is the element or a near ancestor hidden by its inline style (a share image)?"""
    for node in (el, *list(el.iterancestors())[:3]):
        style = node.get("style")
        if style and _HIDDEN_STYLE.search(style):
            return True
    return False


#: words of Sina's app and QR-code promos (the image beside them is a QR code, not a picture)
_PROMO_WORDS = ("新浪财经APP", "新浪新闻APP", "扫描二维码", "扫码下载", "扫一扫")


def _in_promo(img: etree._Element, container: etree._Element) -> bool:
    """Does the image sit in a small block (two levels up at most) whose text is a promo?"""
    node = img
    for _ in range(2):
        node = node.getparent()
        if node is None or node is container:
            return False
        text = text_content(node)
        if len(text) < 200 and any(w in text for w in _PROMO_WORDS):
            return True
    return False


_VIDEO_LINK = re.compile(r"//(?:video|vip\.video|v)\.sina\.(?:com\.)?cn/")


def _in_player(img: etree._Element, container: etree._Element) -> bool:
    """Does the image sit in a video player's block (a poster)? A block of the body holding a
    ``<video>``, an ``<object>``/``<embed>``, or a link to Sina's video site. (A poster whose
    URL a player script names is found by the caller.)"""
    for anc in img.iterancestors():
        if anc is container:
            return False
        for el in anc.iter("video", "object", "embed", "a"):
            if el.tag != "a" or _VIDEO_LINK.search(el.get("href") or ""):
                return True
    return False


__all__ = ["FAMILY", "GenericPage", "fallback_of", "mark_fallback"]
