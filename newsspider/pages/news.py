"""N: news.sina.com.cn since 2017: the finance skeleton with the body in ``div#article``.

Differences from F that matter: the channel logo is an ``h1`` too (``h1.channel-logo``), so the
headline is ``h1.main-title`` only; the body is ``#article``; the editor line is
``p.show_author``; keywords are the ``#keywords`` links (``data-wbkey`` adds the channel tag
``新闻``, which is not an article keyword).
"""

from __future__ import annotations

from newsspider.pages.base import Probe, compiled, find_first, split_keywords, texts
from newsspider.pages.fields import field
from newsspider.pages.finance import FinancePage

_KEYWORD_LINKS = compiled('//div[@id="keywords"]//a')
#: the channel tag data-wbkey ends with
_CHANNEL_TAGS = frozenset({"新闻"})


class NewsPage(FinancePage):
    family = "N"
    body_xpath = '//div[@id="article"]'

    @classmethod
    def matches(cls, probe: Probe) -> bool:
        return "main-title" in probe.h1_classes and probe.has('//div[@id="article"]')

    @field
    def keywords(self) -> list[str]:
        words = texts(_KEYWORD_LINKS(self.root))
        if words:
            return words
        block = find_first(self.root, '//div[@id="keywords"]')
        if block is not None and block.get("data-wbkey"):
            return [
                k for k in split_keywords(block.get("data-wbkey", "")) if k not in _CHANNEL_TAGS
            ]
        return super(FinancePage, self).keywords()
