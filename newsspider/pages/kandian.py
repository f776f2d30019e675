"""K: 新浪看点 (k.sina.com.cn, ``kandian2017`` skin): self-media posts on the finance skeleton.

The shown source is the platform (``新浪看点``); the real author is only in ``meta mediaid`` /
``article:author`` (:attr:`Article.media`). There is no ``og:url`` and no keyword block (meta
keywords are real here). ``p.article-notice`` (特别声明) sits inside the body and is not text. A
video-only post has no paragraphs and no pictures: :meth:`Page.extract` refuses it.
"""

from __future__ import annotations

from newsspider.pages.base import Page, Probe
from newsspider.pages.fields import field
from newsspider.pages.finance import FinancePage

_HOSTS = frozenset({"k.sina.com.cn", "k.sina.cn"})


class KandianPage(FinancePage):
    family = "K"

    @classmethod
    def matches(cls, probe: Probe) -> bool:
        if "main-title" not in probe.h1_classes:
            return False
        return probe.host in _HOSTS or probe.has('//link[contains(@href, "kandian2017")]')

    @field
    def keywords(self) -> list[str]:
        """Meta keywords: 看点 pages have no keyword block under the article."""
        return Page.keywords(self)
