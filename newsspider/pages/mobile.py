"""M: the finance.sina.cn mobile article (as served since about 2018, old articles included).

``h1.art_tit_h1``; the source is ``.weibo_info h2.weibo_user`` (also ``article:author``); the
shown time is ``time.weibo_time``: ``<span class=weibo_time_day>2005.08.26</span>05:39`` (day
and hour in two text nodes, so they are joined with a space); ``article:published_time`` has no
offset. The body is ``section.art_content``; inside it ``div[sax-type]`` ad slots and the hidden
share image ``#wx_pic`` are neither text nor content images. Meta keywords are ``,sina.cn``.
"""

from __future__ import annotations

from datetime import datetime

from newsspider.pages.base import Page, Probe, compiled, parse_beijing, text_content, text_of
from newsspider.pages.fields import field

_TITLE = compiled('//h1[contains(concat(" ", normalize-space(@class), " "), " art_tit_h1 ")]')
_USER = compiled('//h2[contains(concat(" ", normalize-space(@class), " "), " weibo_user ")]')
_TIME = compiled('//time[contains(concat(" ", normalize-space(@class), " "), " weibo_time ")]')


class MobilePage(Page):
    family = "M"
    body_xpath = '//section[contains(concat(" ", normalize-space(@class), " "), " art_content ")]'

    @classmethod
    def matches(cls, probe: Probe) -> bool:
        return "art_tit_h1" in probe.h1_classes

    @field
    def title(self) -> str:
        found = _TITLE(self.root)
        return text_of(found[0]) if found else ""

    @field
    def published(self) -> datetime | None:
        found = _TIME(self.root)
        if not found:
            return None
        el = found[0]
        parts = [el.text or ""]
        for child in el:
            parts.append(text_content(child))
            parts.append(child.tail or "")
        return parse_beijing(" ".join(p.strip() for p in parts if p.strip()))

    @field
    def source(self) -> tuple[str, str]:
        found = _USER(self.root)
        name = text_of(found[0]) if found else ""
        return name or self.meta("article:author"), ""
