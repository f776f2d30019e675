"""Page objects, one per Sina template family, chosen by URL and page markers in one place."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from newsspider.article import Article, NotAnArticle
from newsspider.pages.base import (
    Page,
    Probe,
    decode_html,
    host_of,
    parse_html,
    strip_dataset_wrapper,
)
from newsspider.pages.blk import BlkPage
from newsspider.pages.content2014 import Content2014Page
from newsspider.pages.finance import FinancePage
from newsspider.pages.kandian import KandianPage
from newsspider.pages.legacy2005 import Legacy2005Page
from newsspider.pages.mobile import MobilePage
from newsspider.pages.news import NewsPage
from newsspider.pages.region import article_fragment, settle
from newsspider.pages.toutiao import ToutiaoPage

#: detection order matters: the most specific markers first (docs/sina-pages.md "Family
#: detection"). K, N and T share F's markers (``h1.main-title`` + ``#artibody``), so they come
#: before it; L1's ``class=f24`` is the weakest marker and comes last.
FAMILIES: list[type[Page]] = [
    MobilePage,
    BlkPage,
    Content2014Page,
    KandianPage,
    NewsPage,
    ToutiaoPage,
    FinancePage,
    Legacy2005Page,
]

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_ERROR_TITLE = re.compile(r"404|页面没有找到|页面不存在|找不到|出错|错误|not found|error", re.I)
#: a home or channel index URL: ``/``, ``/roll/``, ``index.shtml``, ``index.d.html``
_CHANNEL_PATH = re.compile(r"(?:^/?$|/$|/index(?:\.d)?\.s?html?$)")
_ARTICLE_LINK = re.compile(r"/(?:doc|detail)-i[A-Za-z0-9]+\.(?:shtml|d\.html)")


def choose_family(probe: Probe) -> type[Page] | None:
    """The first family whose markers the page has (``Probe(url, parsed_root)``)."""
    for family in FAMILIES:
        if family.matches(probe):
            return family
    return None


def _refuse_by_url(url: str) -> None:
    host = host_of(url)
    if host.startswith("slide."):
        raise NotAnArticle(
            "slideshow page (slide.*.sina.com.cn: pictures in a JS gallery, no article body)",
            stat="slideshow",
        )
    if host.startswith("video.") or host.startswith("vip.video."):
        raise NotAnArticle(
            "video page (video.sina.com.cn: a player, no article)", stat="video_page"
        )


def _why_not(url: str, text: str) -> NotAnArticle:
    """The reason for a page that no family recognises, as specific as the page allows."""
    m = _TITLE.search(text[:20_000])
    title = re.sub(r"\s+", " ", m.group(1)).strip() if m else ""
    if "slide_data" in text:
        return NotAnArticle("slideshow page (var slide_data gallery)", stat="slideshow")
    if (title and _ERROR_TITLE.search(title)) or (len(text) < 2_000 and _ERROR_TITLE.search(text)):
        return NotAnArticle(f"error page ({title or 'no title'})", stat="error_page")
    links = len(_ARTICLE_LINK.findall(text))
    if links >= 10:
        return NotAnArticle(
            f"list or channel page ({links} article links, no article template): {title}",
            stat="list_page",
        )
    if _CHANNEL_PATH.search(urlsplit(url).path or "/"):
        return NotAnArticle(
            f"list or channel page (home/index URL, no article template): {title}",
            stat="list_page",
        )
    return NotAnArticle(
        f"unknown page template (no Sina article markers): {title or 'no title'}",
        stat="unknown_template",
    )


def extract(
    url: str, body: bytes, content_type: str | None = None, *, whole_page: bool = False
) -> Article:
    """Extract an article from a Sina page; raises :class:`NotAnArticle` with the reason.

    The article's own stretch of the page is parsed when it can be cut out
    (:mod:`newsspider.pages.region`), else the whole page; ``whole_page`` forces the latter
    (the tests compare the two). A page the stretch does not satisfy is read whole again, so a
    refusal always gives the whole page's reason."""
    if content_type and not any(t in content_type.lower() for t in _HTML_TYPES):
        raise NotAnArticle(f"not an HTML page (Content-Type {content_type})", stat="not_html")
    if not body or not body.strip():
        raise NotAnArticle("empty page", stat="empty_page")
    _refuse_by_url(url)
    fragment = None if whole_page else article_fragment(body)
    if fragment is not None:
        try:
            text, encoding = decode_html(fragment, content_type)
            root = parse_html(fragment if encoding == "utf-8" else text.encode("utf-8"))
            family = choose_family(Probe(url, root)) if settle(root) else None
            if family is not None:
                return family(url, body, content_type, root=root).extract()
        except NotAnArticle:
            pass
    decoded = decode_html(body, content_type)
    text = strip_dataset_wrapper(decoded[0])
    root = parse_html(body if decoded[1] == "utf-8" and text is decoded[0] and not
                      body.startswith(b"\xef\xbb\xbf") else text.encode("utf-8"))  # fmt: skip
    family = choose_family(Probe(url, root))
    if family is None:
        raise _why_not(url, text)
    return family(url, body, content_type, decoded=decoded, root=root).extract()


__all__ = ["FAMILIES", "Article", "NotAnArticle", "Probe", "choose_family", "extract"]
