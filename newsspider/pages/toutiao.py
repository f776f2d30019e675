"""T: 财经头条 (t.cj.sina.com.cn): self-media posts on the finance skeleton.

What differs from F: ``og:url`` is percent-encoded with tracking parameters (the canonical URL is
the page URL itself, which :meth:`Page.canonical_url` already uses), ``article:published_time`` and
``create_at`` are empty, meta keywords are the constant ``财经头条,财经新闻,投资价值`` (dropped),
the shown source is the author's account and ``mediaid`` the platform (``财经头条``). The doc id
is ``meta publishid`` (the URL has none; the feed lists the article under another id).
"""

from __future__ import annotations

from newsspider.pages.base import Probe
from newsspider.pages.finance import FinancePage

_HOST = "t.cj.sina.com.cn"
#: the source link of a 财经头条 page, for a copy saved under another URL
_AUTHOR_LINK = (
    f'//div[contains(@class, "date-source")]/a[contains(@href, "{_HOST}/k/article/author_article")]'
)


class ToutiaoPage(FinancePage):
    family = "T"

    @classmethod
    def matches(cls, probe: Probe) -> bool:
        if "main-title" not in probe.h1_classes or not probe.has('//div[@id="artibody"]'):
            return False
        return probe.host == _HOST or probe.has(_AUTHOR_LINK)
