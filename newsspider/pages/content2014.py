"""L3: the "content2014" finance/news template (about 2014-2017).

The headline is ``.page-header h1#artibodyTitle``; date and source share one text node in
``.page-info span.time-source`` (``2016年05月25日10:10 \\n\\n新浪财经``, no space before the hour;
news pages nest a linked source in ``span[data-sudaclick=media_name] a``); the editor line comes
*after* the body div; the CMS marks its own text with ``<!-- 原始正文start -->`` … ``end``, which
leaves out the 股吧 promo appended inside the body. ``div.ct_hqimg`` (a K-line chart) opens the
body and is neither text nor a content image.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from newsspider.pages.base import (
    Page,
    Probe,
    clean_editor,
    compiled,
    find_cn_date,
    text_of,
    texts,
)
from newsspider.pages.fields import field

_TITLE = compiled('//h1[@id="artibodyTitle"]')
_TIME_SOURCE = compiled('//span[contains(@class, "time-source") or @id="navtimeSource"]')
_EDITOR = compiled('//p[contains(@class, "article-editor")]')
_KEYWORDS = compiled('//div[contains(@class, "article-keywords")]//a')
_BREADCRUMB = compiled('//div[contains(@class, "bread")]//a')


class Content2014Page(Page):
    family = "L3"
    body_xpath = '//div[@id="artibody"]'
    text_region = ("原始正文start", "原始正文end")

    @classmethod
    def matches(cls, probe: Probe) -> bool:
        return "artibodyTitle" in probe.h1_ids and probe.has(
            '//div[contains(@class, "page-header")]'
        )

    @field
    def title(self) -> str:
        found = _TITLE(self.root)
        return text_of(found[0]) if found else ""

    @cached_property
    def _time_source(self) -> tuple[datetime | None, str, str]:
        found = _TIME_SOURCE(self.root)
        if not found:
            return None, "", ""
        el = found[0]
        when, rest = find_cn_date(text_of(el))
        link = el.find('.//span[@data-sudaclick="media_name"]//a')
        if link is None:
            link = el.find(".//a")
        if link is not None and text_of(link):
            return when, text_of(link), self.resolve(link.get("href"))
        return when, rest.strip(), ""

    @field
    def published(self) -> datetime | None:
        return self._time_source[0]

    @field
    def source(self) -> tuple[str, str]:
        _, name, url = self._time_source
        return name, url

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
