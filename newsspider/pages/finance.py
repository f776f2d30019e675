"""F: finance.sina.com.cn since 2017 (``news_web_article_v2017``).

Its page skeleton (``h1.main-title``, ``.date-source``, ``.channel-path``) is shared by the news
(N), 看点 (K) and 财经头条 (T) templates, whose page objects subclass this one and change only
what differs.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from lxml import etree

from newsspider.pages.base import (
    Page,
    Probe,
    clean_editor,
    compiled,
    find_first,
    parse_beijing,
    text_of,
    texts,
)
from newsspider.pages.fields import field

# compiled once (an XPath is parsed on every call otherwise), and tag-specific where the corpus
# allows: ``//*[…]`` visits every node including text nodes and costs three times ``//div[…]``
_TITLE = compiled('//h1[contains(concat(" ", @class, " "), " main-title ")]')
_DATE_SOURCE = compiled('//div[contains(@class, "date-source")]')
_DATE_SOURCE_ANY = compiled('//*[contains(@class, "date-source")]')
_DATE_SOURCE_NEAR = compiled('following-sibling::div[1]//div[contains(@class, "date-source")]')
_DATE = compiled('.//*[@class="date"]')
_SOURCE = compiled('.//*[contains(concat(" ", @class, " "), " source ")]')
_EDITOR = compiled('.//p[contains(@class, "article-editor") or contains(@class, "show_author")]')
_KEYWORDS = compiled('.//*[contains(@class, "keywords")]//a')
_BREADCRUMB = compiled('//div[contains(@class, "channel-path")]//a')


class FinancePage(Page):
    family = "F"
    body_xpath = '//div[@id="artibody"]'
    not_found_reason = "body container #artibody missing"

    @classmethod
    def matches(cls, probe: Probe) -> bool:
        """The 2017 skeleton's headline is enough: N, K and T were tried first, so a page that
        has it but no body container is a finance page whose body is gone (a redesign), and is
        reported as that rather than as an unknown template."""
        return "main-title" in probe.h1_classes

    @field
    def title(self) -> str:
        return text_of(self._title_el)

    @cached_property
    def _title_el(self) -> etree._Element | None:
        found = _TITLE(self.root)
        return found[0] if found else None

    @cached_property
    def _date_source(self) -> etree._Element | None:
        """``.date-source`` sits in the sticky bar right after the headline: look there first,
        then in the whole page."""
        h1 = self._title_el
        found = _DATE_SOURCE_NEAR(h1) if h1 is not None else []
        found = found or _DATE_SOURCE(self.root) or _DATE_SOURCE_ANY(self.root)
        return found[0] if found else None

    @field
    def published(self) -> datetime | None:
        block = self._date_source
        found = _DATE(block) if block is not None else []
        return parse_beijing(text_of(found[0])) if found else None

    @field
    def source(self) -> tuple[str, str]:
        block = self._date_source
        found = _SOURCE(block) if block is not None else []
        if not found:
            return "", ""
        el = found[0]
        return text_of(el), self.resolve(el.get("href")) if el.tag == "a" else ""

    @field
    def editor(self) -> str:
        found = _EDITOR(self.container)
        return clean_editor(text_of(found[0])) if found else ""

    @field
    def keywords(self) -> list[str]:
        bottom = find_first(self.root, '//div[@id="article-bottom"]')
        return (texts(_KEYWORDS(bottom)) if bottom is not None else []) or super().keywords()

    @field
    def breadcrumb(self) -> list[str]:
        return texts(_BREADCRUMB(self.root))
