"""L1: the 2005 table layout (GB2312, decoded as GB18030 by :func:`decode_html`).

Headline ``th.f24`` (``<font>`` inside), then a centred cell ``http://… 2005年03月21日 11:21
<font color=#A20010>《理财周刊》</font>`` with date and source. The body is every ``font#zoom``
one after another (a house page splits it around an in-article ad table); the 产业资讯 skin has
no ``font#zoom`` and keeps its paragraphs in the innermost ``td.l17``. The text may end in a
credit line ``来源: 尹娟`` (the person credited, kept as :attr:`Article.media`, not as text).

The in-article ad slot ``<!--NEWSZW_HZH_BEGIN--><table>…</table><!--NEWSZW_HZH_END-->`` sits in
the middle of a paragraph (``获得了5<!--…-->…<!--…-->00万元``). These pages have no doctype, so a
browser parses them in quirks mode, where ``<table>`` does not close the open ``<p>``; lxml closes
it and would cut the sentence in two. The slot is put back into its paragraph, which is the tree
a browser builds, so both the body and the text read as on the page.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cached_property

from lxml import etree

from newsspider.article import NotAnArticle
from newsspider.markup.text import strip_private_use
from newsspider.pages.base import (
    Page,
    Probe,
    compiled,
    find_cn_date,
    legacy_doc_id,
    text_content,
    text_of,
    texts,
)
from newsspider.pages.fields import field

_ZOOM = compiled('//font[@id="zoom"]')
_TITLE = compiled('//th[contains(concat(" ", normalize-space(@class), " "), " f24 ")]')
_DATE_CELLS = compiled('ancestor::table[1]//td[@align="center" or @align="CENTER"]')
_CREDIT = re.compile(r"^\s*[(（]?\s*(?:来源|稿源)\s*[:：]\s*(.+?)\s*[)）]?\s*$")
_URL_NUMBER = re.compile(r"/(\d+)\.s?html?$")
_HZH_BEGIN = "NEWSZW_HZH_BEGIN"
_HZH_END = "NEWSZW_HZH_END"


def _is_l17(el: etree._Element) -> bool:
    return "l17" in (el.get("class") or "").split()


def _innermost_l17(root: etree._Element) -> list[etree._Element]:
    """The first ``td.l17`` holding no other, in document order (cells visited by tag: the XPath
    ``//td[…l17…][not(.//td[…l17…])]`` costs a tenth of the page's parse)."""
    for td in root.iter("td"):
        if _is_l17(td) and not any(_is_l17(d) for d in td.iter("td") if d is not td):
            return [td]
    return []


def renest_ad_slots(container: etree._Element) -> None:
    """Move an ad slot that lxml pushed out of its paragraph back in (see the module doc)."""
    for comment in list(container.iter(etree.Comment)):
        if _HZH_BEGIN not in (comment.text or ""):
            continue
        p = comment.getparent()
        if (
            p is None
            or p.tag != "p"
            or comment.getnext() is not None
            or (comment.tail or "").strip()
        ):
            continue
        moved: list[etree._Element] = []
        sibling = p.getnext()
        while sibling is not None:
            moved.append(sibling)
            if sibling.tag is etree.Comment and _HZH_END in (sibling.text or ""):
                break
            sibling = sibling.getnext()
        else:
            continue  # no end marker among the siblings: leave the tree as lxml built it
        if (p.tail or "").strip():
            continue
        for el in moved:
            p.append(el)  # moves it, with its tail (the rest of the sentence)


class Legacy2005Page(Page):
    family = "L1"
    not_found_reason = "no font#zoom or td.l17 body"

    @classmethod
    def matches(cls, probe: Probe) -> bool:
        return probe.has('//font[@id="zoom"]') or probe.has(
            '//th[contains(concat(" ", normalize-space(@class), " "), " f24 ")]'
        )

    @cached_property
    def containers(self) -> list[etree._Element]:
        found = _ZOOM(self.root) or _innermost_l17(self.root)
        if not found:
            raise NotAnArticle(f"{self.not_found_reason} ({self.family})", stat="no_body")
        for container in found:
            renest_ad_slots(container)
        return found

    @cached_property
    def container(self) -> etree._Element:
        return self.containers[0]

    @field
    def doc_id(self) -> str:
        found = legacy_doc_id(self.text) or super().doc_id()
        if found:
            return found
        m = _URL_NUMBER.search(self.url.split("?", 1)[0])
        return m.group(1) if m else ""

    @cached_property
    def _title_cell(self) -> etree._Element | None:
        found = _TITLE(self.root)
        return found[0] if found else None

    @field
    def title(self) -> str:
        return text_of(self._title_cell)

    def _date_line(self) -> tuple[datetime | None, str]:
        head = self._title_cell
        if head is None:
            return None, ""
        for cell in _DATE_CELLS(head):
            when, rest = find_cn_date(text_of(cell))
            if when is None:
                continue
            font = cell.find(".//font")
            name = text_of(font) if font is not None else rest
            return when, name.strip()
        return None, ""

    @field
    def published(self) -> datetime | None:
        return self._date_line()[0]

    @field
    def source(self) -> tuple[str, str]:
        return self._date_line()[1], ""

    @field
    def media(self) -> str:
        """The person a trailing ``来源: …`` line credits (the page has no mediaid)."""
        for p in reversed(self.paragraph_elements()):
            m = _CREDIT.match(strip_private_use(text_content(p)).strip("\u3000\xa0 \t\r\n"))
            if m:
                return m.group(1)
        return super().media()

    @field
    def breadcrumb(self) -> list[str]:
        # the first a.a02, found by tag (an XPath over every element costs four times more)
        links = [a for a in self.root.iter("a") if "a02" in (a.get("class") or "").split()][:1]
        if not links:
            return []
        parent = links[0].getparent()
        return texts(a for a in parent.iter("a")) if parent is not None else []
