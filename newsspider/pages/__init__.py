"""Page objects, one per Sina template family, chosen by URL and page markers in one place."""

from __future__ import annotations

from newsspider.article import Article, NotAnArticle
from newsspider.pages.base import Page, decode_html
from newsspider.pages.finance import FinancePage

#: detection order matters: the most specific markers first (docs/sina-pages.md)
FAMILIES: list[type[Page]] = [FinancePage]

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def choose_family(url: str, head: str) -> type[Page] | None:
    for family in FAMILIES:
        if family.matches(url, head):
            return family
    return None


def extract(url: str, body: bytes, content_type: str | None = None) -> Article:
    """Extract an article from a Sina page; raises :class:`NotAnArticle` with the reason."""
    if content_type and not any(t in content_type.lower() for t in _HTML_TYPES):
        raise NotAnArticle(f"not an HTML page (Content-Type {content_type})", stat="not_html")
    if not body or not body.strip():
        raise NotAnArticle("empty page", stat="empty_page")
    text, _ = decode_html(body[:200_000], content_type)
    family = choose_family(url, text)
    if family is None:
        raise NotAnArticle("unknown page template (no Sina article markers)", stat="unknown_template")
    return family(url, body, content_type).extract()


__all__ = ["FAMILIES", "Article", "NotAnArticle", "choose_family", "extract"]
