"""Page objects, one per Sina template family, chosen by URL and page markers in one place."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from lxml import etree

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
from newsspider.pages.generic import GenericPage, mark_fallback
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
                return family(url, body, content_type, root=root).to_article()
        except NotAnArticle:
            pass
    decoded = decode_html(body, content_type)
    text = strip_dataset_wrapper(decoded[0])
    root = parse_html(body if decoded[1] == "utf-8" and text is decoded[0] and not
                      body.startswith(b"\xef\xbb\xbf") else text.encode("utf-8"))  # fmt: skip
    family = choose_family(Probe(url, root))
    if family is None:
        if "slide_data" in text or _CHANNEL_PATH.search(urlsplit(url).path or "/"):
            raise _why_not(url, text)  # a gallery or a home/channel URL: no article to look for
        # the page's own reason is worked out only when the generic extractor refuses too
        why = functools.partial(_why_not, url, text)
        return _generic(why, url, body, content_type, decoded, root)
    page = family(url, body, content_type, decoded=decoded, root=root)
    try:
        return page.to_article()
    except NotAnArticle as exc:
        if exc.stat == "empty_body":  # the body found, its text unread: look around it only
            # (its parent: lxml moves a 2005 font#zoom's <center> and <p>s out of the <font>)
            near = list({id(c.getparent()): c.getparent() for c in page.containers
                         if c.getparent() is not None}.values()) or page.containers  # fmt: skip
            return _generic(exc, url, body, content_type, decoded, root, near, page.containers)
        return _generic(exc, url, body, content_type, decoded, root)


#: the refusals after which the generic extractor tries the page: no family matches (a new
#: skin; the page-wide guesses "list" and "error page" included, since an article of a new
#: skin has ten links to other articles in its sidebars as a list has, and an article may say
#: "错误" in its title: the generic extractor tells them apart, and when it refuses the guess
#: stands), or the matched family lost its headline or its body container (a half re-skin).
#: A body container a family found but whose text it could not read (``empty_body``: a 2005
#: body in ``<br>`` runs, no ``<p>``) is read by the generic extractor inside that container
#: only. What a family found to be a video-only page, or a slideshow, is not tried.
FALL_BACK_STATS = frozenset(
    {"unknown_template", "list_page", "error_page", "no_title", "no_body", "empty_body"}
)


def _generic(
    refusal: NotAnArticle | Callable[[], NotAnArticle],
    url: str,
    body: bytes,
    content_type: str | None,
    decoded: tuple[str, str],
    root: etree._Element,
    within: list[etree._Element] | None = None,
    holding: list[etree._Element] | None = None,
) -> Article:
    """The generic extractor's article, or the refusal when it refuses too (the family's or
    the page's own reason says more than the generic one; both are given). ``refusal`` is a
    family's, or a function giving the page's reason when no family matched (its link count
    and title are read only if needed)."""
    if isinstance(refusal, NotAnArticle) and (
        refusal.stat not in FALL_BACK_STATS or _CHANNEL_PATH.search(urlsplit(url).path or "/")
    ):
        raise refusal  # a home or channel index URL is never an article, whatever it holds
    stat = refusal.stat if isinstance(refusal, NotAnArticle) else "unknown_template"
    try:
        page = GenericPage(
            url, body, content_type, decoded=decoded, root=root, within=within, holding=holding
        )
        article = page.to_article()
    except NotAnArticle as generic:
        why = refusal if isinstance(refusal, NotAnArticle) else refusal()
        raise NotAnArticle(
            f"{why.reason}; generic extractor: {generic.reason}", stat=why.stat
        ) from None
    mark_fallback(article, stat)
    return article


__all__ = [
    "FALL_BACK_STATS", "FAMILIES", "Article", "GenericPage", "NotAnArticle", "Probe",
    "choose_family", "extract",
]  # fmt: skip
