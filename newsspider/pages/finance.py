"""F: finance.sina.com.cn since 2017 (``news_web_article_v2017``), and the templates that share
its skeleton (财经头条 t.cj.sina.com.cn)."""

from __future__ import annotations

from datetime import datetime

from newsspider.pages.base import Page, parse_beijing, text_of


class FinancePage(Page):
    family = "F"
    body_xpath = '//div[@id="artibody"]'

    @classmethod
    def matches(cls, url: str, head: str) -> bool:
        return 'class="main-title"' in head and 'id="artibody"' in head

    def title(self) -> str:
        return text_of(self.first('//h1[contains(concat(" ", @class, " "), " main-title ")]'))

    def published(self) -> datetime | None:
        return parse_beijing(text_of(self.first('//*[contains(@class, "date-source")]//*[@class="date"]')))

    def source(self) -> tuple[str, str]:
        el = self.first(
            '//*[contains(@class, "date-source")]//*[contains(concat(" ", @class, " "), " source ")]'
        )
        if el is None:
            return "", ""
        return text_of(el), (el.get("href") or "") if el.tag == "a" else ""

    def editor(self) -> str:
        found = self.container.xpath(
            './/p[contains(@class, "article-editor") or contains(@class, "show_author")]'
        )
        el = found[0] if found else None
        return text_of(el).replace("责任编辑：", "").replace("责任编辑:", "").strip()

    def keywords(self) -> list[str]:
        words = [text_of(a) for a in self.root.xpath(
            '//*[@id="article-bottom"]//*[contains(@class, "keywords")]//a'
        )]
        return [w for w in words if w] or super().keywords()

    def breadcrumb(self) -> list[str]:
        return [t for t in (text_of(a) for a in self.root.xpath(
            '//*[contains(@class, "channel-path")]//a'
        )) if t]
