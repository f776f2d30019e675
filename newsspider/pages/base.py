"""What every Sina template shares: decoding, the parsed tree, meta tags, dates, ids.

Page objects are pure: URL and bytes in, :class:`~newsspider.article.Article` out. No requests,
no disk, no settings, so each one is tested from saved pages alone.
"""

from __future__ import annotations

import codecs
import re
from datetime import datetime, timedelta, timezone
from functools import cached_property
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from newsspider.archive.body import Body, render_body
from newsspider.archive.post import strip_private_use
from newsspider.archive.urls import canonical_article_url
from newsspider.article import Article, NotAnArticle

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
#: Sina's "GB2312" pages hold GBK and GB18030 characters; gb18030 is a superset of both
_GB = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "gb18030", "csgb2312", "cp936", "x-euc-cn", "euc-cn"}
_DOC_ID = re.compile(r"/(?:doc|detail)-(i?[A-Za-z0-9]+)\.(?:shtml|d\.html)")
_WS = re.compile(r"\s+")
_PARA_TRIM = "\u3000\xa0 \t\r\n"


def normalize_charset(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    if name in _GB:
        return "gb18030"
    if name in ("utf8", "utf-8"):
        return "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode a page; returns (text, encoding used).

    The page's own ``<meta charset>`` wins over the HTTP header (Sina's servers have sent wrong
    headers for years), GB2312/GBK are read as GB18030, and a declared charset that the bytes do
    not fit falls back to UTF-8, then GB18030, before anything is replaced.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace"), "utf-8"
    declared = None
    m = _META_CHARSET.search(body[:4096])
    if m:
        declared = normalize_charset(m.group(1).decode("ascii", "ignore"))
    if declared is None and content_type:
        hm = _HEADER_CHARSET.search(content_type)
        declared = normalize_charset(hm.group(1)) if hm else None
    tried = []
    for enc in (declared, "utf-8", "gb18030"):
        if enc and enc not in tried:
            tried.append(enc)
            try:
                return body.decode(enc), enc
            except (UnicodeDecodeError, LookupError):
                continue
    enc = declared or "utf-8"
    return body.decode(enc, "replace"), enc


def parse_html(text: str) -> etree._Element:
    if not text.strip():
        raise NotAnArticle("empty page", stat="empty_page")
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise NotAnArticle(f"not parseable as HTML: {exc}", stat="unparseable") from exc


def doc_id_from_url(url: str) -> str:
    """``doc-iXXXX.shtml`` -> ``XXXX``: exactly one leading ``i`` goes (2019+ ids start with i)."""
    m = _DOC_ID.search(url)
    if not m:
        return ""
    value = m.group(1)
    return value[1:] if value.startswith("i") else value


def parse_beijing(value: str) -> datetime | None:
    """The naive formats Sina shows (Beijing time), or ISO 8601 with an offset."""
    value = _WS.sub(" ", value.strip())
    if not value:
        return None
    for fmt in (
        "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M",
        "%Y.%m.%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y年%m月%d日",
    ):  # fmt: skip
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=BEIJING)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)


def text_of(el: etree._Element | None) -> str:
    if el is None:
        return ""
    return _WS.sub(" ", el.text_content()).strip()


def clean_paragraph(text: str) -> str:
    return strip_private_use(text).strip(_PARA_TRIM).strip()


class Page:
    """A parsed Sina page. Subclasses say where each field lives for one template family."""

    family = ""
    #: xpath of the body container, relative to the document
    body_xpath = ""
    not_found_reason = "body container missing"

    def __init__(self, url: str, body: bytes, content_type: str | None = None) -> None:
        self.url = url
        self.text, self.encoding = decode_html(body, content_type)
        self.root = parse_html(self.text)

    @classmethod
    def matches(cls, url: str, head: str) -> bool:
        """Cheap test on the URL and the decoded page text (FORMAT family detection)."""
        raise NotImplementedError

    # --- shared lookups ---
    def first(self, xpath: str) -> etree._Element | None:
        found = self.root.xpath(xpath)
        return found[0] if found else None

    @cached_property
    def metas(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for m in self.root.iter("meta"):
            key = m.get("name") or m.get("property")
            if key and key not in out:
                out[key] = (m.get("content") or "").strip()
        return out

    def meta(self, *names: str) -> str:
        for name in names:
            value = self.metas.get(name, "")
            if value:
                return value
        return ""

    @cached_property
    def container(self) -> etree._Element:
        el = self.first(self.body_xpath) if self.body_xpath else None
        if el is None:
            raise NotAnArticle(f"{self.not_found_reason} ({self.family})", stat="no_body")
        return el

    @cached_property
    def rendered(self) -> Body:
        return render_body(self.container, self.canonical_url())

    # --- fields, overridable per family ---
    def canonical_url(self) -> str:
        return canonical_article_url(self.url)

    def doc_id(self) -> str:
        return doc_id_from_url(self.url) or self.meta("publishid").split(",")[-1].strip()

    def title(self) -> str:
        raise NotImplementedError

    def created_at(self) -> datetime | None:
        return parse_beijing(self.meta("weibo: article:create_at"))

    def published(self) -> datetime | None:
        return None

    def first_published(self) -> datetime | None:
        return parse_beijing(self.meta("article:published_time"))

    def modified(self) -> datetime | None:
        return parse_beijing(self.meta("weibo: article:update_at"))

    def source(self) -> tuple[str, str]:
        return "", ""

    def media(self) -> str:
        return self.meta("mediaid", "article:author")

    def editor(self) -> str:
        return ""

    def keywords(self) -> list[str]:
        raw = self.meta("keywords")
        return [k.strip() for k in re.split(r"[,，]", raw) if k.strip()]

    def breadcrumb(self) -> list[str]:
        return []

    def paragraphs(self) -> list[str]:
        """Article text only: paragraphs minus the lines that are not the article's words."""
        out = []
        for p in self.container.iter("p"):
            if self.is_noise(p):
                continue
            text = clean_paragraph(p.text_content())
            if text:
                out.append(text)
        return out

    def is_noise(self, p: etree._Element) -> bool:
        cls = p.get("class") or ""
        if "article-editor" in cls or "show_author" in cls or "article-notice" in cls:
            return True
        text = p.text_content().strip(_PARA_TRIM)
        return text.startswith(("原标题：", "原标题:", "责任编辑：", "免责声明："))

    def original_title(self) -> str:
        for p in self.container.iter("p"):
            text = p.text_content().strip(_PARA_TRIM)
            if text.startswith(("原标题：", "原标题:")):
                return text[4:].strip()
        return ""

    def extract(self) -> Article:
        title = self.title()
        if not title:
            raise NotAnArticle(f"no headline found ({self.family})", stat="no_title")
        body = self.rendered
        paragraphs = self.paragraphs()
        if not paragraphs and not body.content_images:
            raise NotAnArticle(
                f"body holds neither text nor images (video-only or empty page, {self.family})",
                stat="empty_body",
            )
        source, source_url = self.source()
        return Article(
            url=self.canonical_url(),
            doc_id=self.doc_id(),
            title=title,
            created_at=self.created_at(),
            published=self.published(),
            first_published=self.first_published(),
            modified=self.modified(),
            source=source,
            source_url=source_url,
            media=self.media(),
            editor=self.editor(),
            original_title=self.original_title(),
            keywords=self.keywords(),
            breadcrumb=self.breadcrumb(),
            family=self.family,
            body=body.html,
            images=body.content_images,
            body_images=body.images,
            paragraphs=paragraphs,
        )


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
