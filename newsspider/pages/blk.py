"""L2: the "blk" template (about 2008-2013 across channels; tech.sina.com.cn still in 2019).

``h1#artibodyTitle``, ``span#pub_date`` (``2009年11月09日13:48``), ``span#media_name`` (linked
source), body ``div.blkContainerSblkCon#artibody``, breadcrumb ``p#lo_links``. The CMS marks its
own text with ``<!-- publish_helper name='原始正文' … -->`` … ``<!-- publish_helper_end -->``; what
follows (the 2009 手机新浪网 promo) is not text. 2009 pages have no og/article meta, no editor
line, ``meta publishid`` ``28,3,2762951`` (the doc id is the last number) and ``Keywords`` = the
title. Their photos sit before the marker in ``<center>`` with 1x1 ``c.gif`` spacers after
them (body.py leaves the spacers out of the content images). Tech 2019 opens the body with the
新浪众测 promo (``.tech-quotation``), a video player and a "相关新闻" link list.
"""

from __future__ import annotations

from datetime import datetime

from newsspider.pages.base import (
    Page,
    Probe,
    clean_editor,
    compiled,
    legacy_doc_id,
    parse_beijing,
    text_of,
    texts,
)
from newsspider.pages.fields import field

_TITLE = compiled('//h1[@id="artibodyTitle"]')
_DATE = compiled('//span[@id="pub_date"]')
_MEDIA = compiled('//span[@id="media_name"]')
_EDITOR = compiled('//p[contains(@class, "article-editor")]')
_KEYWORDS = compiled(
    '//p[contains(@class, "art_keywords")]//a | //div[contains(@class, "article-keywords")]//a'
)
_BREADCRUMB = compiled('//p[@id="lo_links"]//a')


class BlkPage(Page):
    family = "L2"
    body_xpath = '//div[@id="artibody"]'
    text_region = ("publish_helper name='原始正文'", "publish_helper_end")

    @classmethod
    def matches(cls, probe: Probe) -> bool:
        return "artibodyTitle" in probe.h1_ids and probe.has(
            '//div[contains(@class, "blkContainerSblk")]'
        )

    @field
    def doc_id(self) -> str:
        return super().doc_id() or legacy_doc_id(self.text)

    @field
    def title(self) -> str:
        found = _TITLE(self.root)
        return text_of(found[0]) if found else ""

    @field
    def published(self) -> datetime | None:
        found = _DATE(self.root)
        return parse_beijing(text_of(found[0])) if found else None

    @field
    def source(self) -> tuple[str, str]:
        found = _MEDIA(self.root)
        if not found:
            return "", ""
        link = found[0].find(".//a")
        if link is not None:
            return text_of(link), self.resolve(link.get("href"))
        return text_of(found[0]), ""

    @field
    def editor(self) -> str:
        found = _EDITOR(self.root)
        return clean_editor(text_of(found[0])) if found else ""

    @field
    def keywords(self) -> list[str]:
        return texts(_KEYWORDS(self.root)) or super().keywords()

    @field
    def breadcrumb(self) -> list[str]:
        return texts(_BREADCRUMB(self.root))
