"""What every Sina template shares: decoding, the parsed tree, meta tags, dates, ids.

Page objects are pure: URL and bytes in, :class:`~newsspider.article.Article` out. No requests,
no disk, no settings, so each one is tested from saved pages alone.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from newsspider.article import Article, NotAnArticle
from newsspider.markup.body import (
    Body,
    html5_prepass,
    images_in,
    odd_noscript,
    render_bodies,
)
from newsspider.markup.boilerplate import (
    AD_SLOT_ATTR,
    NOT_TEXT_CLASSES,
    NOT_TEXT_IDS,
    NOT_TEXT_PARAGRAPH_CLASSES,
    NOT_TEXT_SUDACLICK,
    VIDEO_CLASSES,
    VIDEO_IDS,
)
from newsspider.markup.text import strip_private_use
from newsspider.markup.urls import canonical_article_url, resolve_url
from newsspider.pages.fields import field, fields_of

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
#: Sina's "GB2312" pages hold GBK and GB18030 characters; gb18030 is a superset of both
_GB = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "gb18030", "csgb2312", "cp936", "x-euc-cn", "euc-cn"}
_DOC_ID = re.compile(r"/(?:doc|detail)-(i?[A-Za-z0-9]+)\.(?:shtml|d\.html)")
_SAFE_DOC_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_WS = re.compile(r"\s+")
_PARA_TRIM = "\u3000\xa0 \t\r\n"
_RELATED_HEADINGS = ("相关新闻", "相关阅读", "延伸阅读", "相关报道", "相关专题")


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

    Bytes that are valid UTF-8 are UTF-8, whatever the page or the header declares: GBK text is
    practically never valid UTF-8, while GB18030 decodes almost any bytes without an error, so a
    UTF-8 page declared (or served) as ``gb2312`` would otherwise come out as mojibake. Otherwise
    the page's own ``<meta charset>`` wins over the HTTP header (Sina's servers have sent wrong
    headers for years), GB2312/GBK are read as GB18030, and GB18030 is the last resort before
    anything is replaced.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace"), "utf-8"
    try:  # tried first whatever is declared (see above): the declaration need not be read
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = None
    m = _META_CHARSET.search(body[:4096])
    if m:
        declared = normalize_charset(m.group(1).decode("ascii", "ignore"))
    if declared is None and content_type:
        hm = _HEADER_CHARSET.search(content_type)
        declared = normalize_charset(hm.group(1)) if hm else None
    tried = []
    for enc in ("utf-8", declared, "gb18030"):
        if enc and enc not in tried:
            tried.append(enc)
            try:
                return body.decode(enc), enc
            except (UnicodeDecodeError, LookupError):
                continue
    enc = declared or "utf-8"
    return body.decode(enc, "replace"), enc


#: the line a crawl dataset put before Sina's bytes: ``<text id="URL" title=… encoding=…>``
_DATASET_WRAPPER = re.compile(r'\A\s*<text\s+id="([^"]*)"[^>]*>[ \t]*\r?\n?')
_DATASET_WRAPPER_END = re.compile(r"</text>\s*\Z")


def dataset_wrapper_url(text: str) -> str:
    """The URL in a dataset wrapper line (``<text id="URL" …>``), or "" when there is none."""
    m = _DATASET_WRAPPER.match(text)
    return m.group(1) if m else ""


def strip_dataset_wrapper(text: str) -> str:
    """Drop the non-HTML wrapper some saved 2005 pages carry, so the page parses as what Sina
    served (the wrapper would otherwise become an element around the whole document)."""
    m = _DATASET_WRAPPER.match(text)
    if not m:
        return text
    return _DATASET_WRAPPER_END.sub("", text[m.end() :])


#: libxml2 stops building the tree at this depth (without XML_PARSE_HUGE) and drops the rest of
#: the page; Sina's templates nest about 30 deep
MAX_DEPTH = 255


def _check_parsed(text: str | bytes, root: etree._Element, parser: etree.HTMLParser) -> None:
    """Refuse a tree that is not the whole page: libxml2 silently stops at :data:`MAX_DEPTH`
    (a page nesting deeper loses everything after that point), and an HTML comment that never
    ends hides the rest of the page in itself. Either way a post would be cut short without a
    word, so the page is refused with the reason instead."""
    for entry in parser.error_log:
        if "Excessive depth" in entry.message:
            raise NotAnArticle(
                f"elements nested more than {MAX_DEPTH} deep (the HTML parser stops there and "
                "the rest of the page would be lost)",
                stat="too_deep",
            )
    if isinstance(text, bytes):
        if text.rfind(b"<!--") <= max(text.rfind(b"-->"), text.rfind(b"--!>")):
            return
        text = text.decode("utf-8", "replace")
    opened = text.rfind("<!--")
    if opened > text.rfind("-->") and opened > text.rfind("--!>"):
        # cheap raw test first (rfind from the end); then the tree confirms that the last
        # comment really runs to the end of the page (not a "<!--" inside a script string)
        last = root.xpath("(//comment())[last()]")
        tail = text[-64:].strip()
        if last and tail and (last[0].text or "").rstrip().endswith(tail):
            raise NotAnArticle(
                "an HTML comment never ends (<!-- without -->): the rest of the page is hidden "
                "in it",
                stat="unterminated_comment",
            )


def parse_html(text: str | bytes) -> etree._Element:
    """The page as a plain lxml tree: ``etree.HTMLParser``, not ``lxml.html``'s, whose element
    classes are looked up by a Python callback for every element the page objects touch (a
    tenth of extraction's time); :func:`text_content` stands in for the one method used.

    ``bytes`` are UTF-8 (libxml2 reads them a tenth faster than a ``str``, which it would
    convert first)."""
    if not text.strip():
        raise NotAnArticle("empty page", stat="empty_page")
    parser = etree.HTMLParser(encoding="utf-8") if isinstance(text, bytes) else etree.HTMLParser()
    try:
        root = etree.fromstring(text, parser)
    except (etree.ParserError, ValueError) as exc:
        raise NotAnArticle(f"not parseable as HTML: {exc}", stat="unparseable") from exc
    if root is None:
        raise NotAnArticle("not parseable as HTML: Document is empty", stat="unparseable")
    _check_parsed(text, root, parser)
    if next(root.iter("svg", "math", "plaintext"), None) is not None or odd_noscript(root):
        # where lxml and a browser read different elements (markup/body.py html5_prepass);
        # the look costs a microsecond on a page without these names
        fixed = html5_prepass(text)
        if fixed is not text:
            kind = {"encoding": "utf-8"} if isinstance(fixed, bytes) else {}
            parser = etree.HTMLParser(**kind)
            root = etree.fromstring(fixed, parser)
            _check_parsed(fixed, root, parser)
    return root


def doc_id_from_url(url: str) -> str:
    """``doc-iXXXX.shtml`` -> ``XXXX``: exactly one leading ``i`` goes (2019+ ids start with i)."""
    m = _DOC_ID.search(url)
    if not m:
        return ""
    value = m.group(1)
    return value[1:] if value.startswith("i") else value


#: ``<!--[28,3,2762951] published at 2009-11-09 …-->``: the CMS ids of 2005-2013 pages
_LEGACY_IDS = re.compile(r"<!--\s*\[(\d+),(\d+),(\d+)\]\s*published at")


def legacy_doc_id(text: str) -> str:
    """The d_id of a 2005-2013 page from its published-at comment (``[p_id,t_id,d_id]``)."""
    m = _LEGACY_IDS.search(text[:2048])
    return m.group(3) if m else ""


#: the shapes of the formats below, read without strptime (which costs ~25 us a failed try)
_FAST_DATE = re.compile(
    r"(\d{4})(?:-(\d{1,2})-(\d{1,2})|年(\d{1,2})月(\d{1,2})日|\.(\d{1,2})\.(\d{1,2}))"
    r"(?:[ T]?(\d{1,2}):(\d{2})(?::(\d{2}))?)?(?:([+-])(\d{2}):?(\d{2}))?"
)


def parse_beijing(value: str) -> datetime | None:
    """The naive formats Sina shows (Beijing time), or ISO 8601 with an offset."""
    value = _WS.sub(" ", value.strip())
    if not value:
        return None
    m = _FAST_DATE.fullmatch(value)
    if m:
        g = m.groups()
        month, day = (g[1], g[2]) if g[1] else (g[3], g[4]) if g[3] else (g[5], g[6])
        tz = BEIJING
        if g[10]:
            offset = timedelta(hours=int(g[11]), minutes=int(g[12]))
            tz = timezone(-offset if g[10] == "-" else offset)
        try:
            return datetime(
                int(g[0]),
                int(month),
                int(day),
                int(g[7] or 0),
                int(g[8] or 0),
                int(g[9] or 0),
                tzinfo=tz,
            )
        except ValueError:
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


#: the dates an article can carry: Sina has published since 1998; anything outside these years
#: is a broken page (``0001-01-01``, ``9999-12-31``) and would not survive date arithmetic
#: (the post's date is written in GMT: year 1 at +08:00 is year 0)
PLAUSIBLE_YEARS = range(1990, 2101)
#: Article date fields in the order the post's date falls back through them (FORMAT.md
#: "date": create_at, then the roll item's ctime, then the page's shown date)
_DATE_FIELDS = ("created_at", "published", "first_published", "modified")
_DATE_SOURCES = {
    "created_at": "weibo: article:create_at",
    "published": "the page's shown date",
    "first_published": "article:published_time",
    "modified": "weibo: article:update_at",
}


def plausible_date(when: datetime | None) -> bool:
    """Can this date be an article's? (In range, and convertible to GMT and back.)"""
    if when is None:
        return True
    if when.year not in PLAUSIBLE_YEARS:
        return False
    try:
        when.astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return True


def vet_dates(article: Article) -> str:
    """Drop every date of ``article`` that cannot be an article's, so the post's date falls
    back to the next source. Returns "" when all were usable; ``bad date: ...`` when a date was
    dropped and no source of the post's date is left (create_at, the roll item's ctime, the
    shown date): the article fails with that reason rather than taking the crawl's clock;
    otherwise a note of what was dropped."""
    dropped = []
    for name in _DATE_FIELDS:
        value = getattr(article, name, None)
        if value is not None and not plausible_date(value):
            dropped.append(f"{_DATE_SOURCES[name]} {value.isoformat()[:25]}")
            setattr(article, name, None)
    if not dropped:
        return ""
    usable = article.created_at is not None or article.roll_ctime or article.published is not None
    what = ", ".join(dropped)
    if not usable:
        return f"bad date: {what} (no other date on the page or in the list)"
    return f"unusable date dropped ({what}); the next date source is used"


#: a shown date inside other text (L1/L3 date-and-source lines): 2016年05月25日10:10
_CN_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*(\d{1,2}):(\d{2})")


def find_cn_date(text: str) -> tuple[datetime | None, str]:
    """The first ``YYYY年MM月DD日 HH:MM`` in ``text`` (Beijing) and the text after it."""
    m = _CN_DATE.search(text)
    if not m:
        return None, text
    y, mo, d, h, mi = (int(g) for g in m.groups())
    try:
        when = datetime(y, mo, d, h, mi, tzinfo=BEIJING)
    except ValueError:
        return None, text
    return when, text[m.end() :]


def text_content(el: etree._Element) -> str:
    """The text of an element and its descendants, comments excluded: lxml.html's
    ``text_content()`` (XPath ``string()``), from libxml2's text serialiser at a sixth of the
    cost of an XPath call."""
    return etree.tostring(el, method="text", encoding=str, with_tail=False)


def text_of(el: etree._Element | None) -> str:
    if el is None:
        return ""
    return _WS.sub(" ", text_content(el)).strip()


def clean_paragraph(text: str) -> str:
    return strip_private_use(text).strip(_PARA_TRIM).strip()


_EDITOR_LABEL = re.compile(r"^\s*[(（]?\s*(?:责任编辑|编辑)\s*[:：]\s*")
#: the staff code some templates print after the editor's name (``支全明 SF099``)
_STAFF_CODE = re.compile(r"\s+[A-Z]{1,4}\d{2,}\s*$")


def clean_editor(text: str) -> str:
    """``责任编辑：支全明 SF099`` -> ``支全明``: the label, brackets and staff code go."""
    text = _EDITOR_LABEL.sub("", _WS.sub(" ", text).strip()).rstrip(")） ")
    return _STAFF_CODE.sub("", text).strip()


#: meta keywords that are one constant for a whole site section, not the article's
_CONSTANT_KEYWORDS = frozenset({"财经头条,财经新闻,投资价值"})
#: keyword items that name the site, not the article (mobile pages: ``,sina.cn``)
_SITE_KEYWORDS = frozenset({"sina.cn", "手机新浪网"})


def split_keywords(raw: str) -> list[str]:
    return [k.strip() for k in re.split(r"[,，;；]", raw) if k.strip()]


def meta_keywords(raw: str, title: str) -> list[str]:
    """Meta keywords unless they are the title (finance self-media, 2009 pages) or a constant
    (财经头条's ``财经头条,财经新闻,投资价值``, mobile's ``,sina.cn``)."""
    squeezed = _WS.sub("", raw)
    if not squeezed or squeezed == _WS.sub("", title) or squeezed in _CONSTANT_KEYWORDS:
        return []
    return [k for k in split_keywords(raw) if k not in _SITE_KEYWORDS]


# --- what is not article text --------------------------------------------------------------

#: blocks inside a body whose text is never the article's (FORMAT.md keeps them in the body);
#: the one list of Sina's boilerplate blocks, with its reasons: markup/boilerplate.py
NOISE_CLASSES = NOT_TEXT_CLASSES
NOISE_IDS = NOT_TEXT_IDS
_NOISE_SUDA = NOT_TEXT_SUDACLICK
#: elements whose text a reader never sees as the article's words
#: (``<object>``/``<embed>`` are not: the post keeps a plugin's fallback text, and what lxml
#: nests inside a void ``<embed>`` is the text after it; ``<svg>``/``<math>`` are: the post
#: drops their text, docs/FORMAT.md "Body safety")
_SILENT_TAGS = frozenset(
    {
        "script", "style", "noscript", "iframe", "ins", "video", "audio", "table", "svg", "math",
        "noembed", "noframes",
    }
)  # fmt: skip
_BLOCK_STOP = frozenset({"script", "style", "noscript", "iframe", "ins", "video", "audio"})


def is_noise_block(el: etree._Element) -> bool:
    """A block of Sina boilerplate inside a body: video players, quote charts, promos, ads."""
    if el.tag in _BLOCK_STOP:
        return True
    attrib = el.attrib
    if not attrib:  # most paragraphs and spans
        return False
    cls = attrib.get("class")
    if cls and not NOISE_CLASSES.isdisjoint(cls.split()):
        return True
    if attrib.get("id") in NOISE_IDS or attrib.get(AD_SLOT_ATTR) is not None:
        return True
    return attrib.get("data-sudaclick") in _NOISE_SUDA


def _is_live_quote(el: etree._Element) -> bool:
    """``span[id^=quote_]``: a stock price a browser snapshot caught mid-update, not text."""
    ident = el.get("id")
    return ident is not None and ident.startswith("quote_")


def paragraph_lines(p: etree._Element) -> list[str]:
    """The text a reader sees in one paragraph, split where it has ``<br>``.

    Comments, scripts, live quote spans, tables (an ad table a 2005 page nests in a paragraph)
    and noise blocks add nothing; the text around them stays in place.
    """
    if not len(p):  # most paragraphs: text only
        return [p.text or ""]
    lines: list[str] = []
    buf: list[str] = []

    def walk(el: etree._Element) -> None:
        if el.text:
            buf.append(el.text)
        for child in el:
            tag = child.tag
            if isinstance(tag, str):
                if tag == "br":
                    lines.append("".join(buf))
                    buf.clear()
                elif not (tag in _SILENT_TAGS or _is_live_quote(child) or is_noise_block(child)):
                    walk(child)
            if child.tail:
                buf.append(child.tail)

    walk(p)
    lines.append("".join(buf))
    return lines


def _text_outside_links(el: etree._Element) -> str:
    out: list[str] = []

    def walk(node: etree._Element) -> None:
        if node.text:
            out.append(node.text)
        for child in node:
            if isinstance(child.tag, str) and child.tag != "a":
                walk(child)
            if child.tail:
                out.append(child.tail)

    walk(el)
    return "".join(out)


def is_related_heading(p: etree._Element, text: str | None = None) -> bool:
    """``<p><strong>相关新闻：</strong></p>``: the heading of a list of links to other articles.
    ``text`` is the paragraph's stripped text when the caller has it already."""
    if text is None:
        text = text_content(p).strip(_PARA_TRIM)
    return len(text) <= 8 and text.startswith(_RELATED_HEADINGS)


def is_link_only(p: etree._Element, text: str | None = None) -> bool:
    """A paragraph whose every visible character is inside a link."""
    if text is None:
        text = text_content(p).strip(_PARA_TRIM)
    if not text or p.find(".//a") is None:
        return False
    return not _text_outside_links(p).strip(_PARA_TRIM)


def walk_paragraphs(
    container: etree._Element, region: tuple[str, str] | None = None
) -> list[tuple[etree._Element, bool]]:
    """Every ``<p>`` of a body in document order, outside noise blocks, each with whether it lies
    in the CMS's own text.

    ``region`` names the comments that open and close that text (L2's ``publish_helper
    name='原始正文'`` … ``publish_helper_end``, L3's ``原始正文start`` … ``原始正文end``): when the
    body has the opening one, only paragraphs between them are text, which leaves out the promos
    templates append after it. Without a region every paragraph is in.
    """
    begin, end = region or ("", "")
    use_region = bool(begin) and any(begin in (c.text or "") for c in container.iter(etree.Comment))
    inside = not use_region
    found: list[tuple[etree._Element, bool]] = []

    def visit(el: etree._Element) -> None:
        nonlocal inside
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                if use_region and tag is etree.Comment:
                    text = child.text or ""
                    if begin in text:
                        inside = True
                    elif end in text:
                        inside = False
                continue
            if is_noise_block(child):
                continue
            if tag == "p":
                found.append((child, inside))
                continue
            visit(child)

    visit(container)
    return found


_NOISE_PREFIXES = ("原标题：", "原标题:", "责任编辑：", "责任编辑:", "免责声明：", "免责声明:")
#: a paragraph that is only a credit line: ``来源: 尹娟`` (2005), ``（编辑：…）``
_CREDIT_LINE = re.compile(
    r"^[(（]?\s*(?:来源|稿源|编辑|责任编辑)\s*[:：]\s*[^，。,;；!！?？]{1,24}[)）]?$"
)


_H1 = etree.XPath("//h1")

#: the ``<meta>`` names page objects read (lower case matches any case): the article's stretch
#: keeps only the page's meta tags that mention one of them, or a charset
META_NAMES = frozenset(
    {
        "publishid", "weibo: article:create_at", "article:published_time",
        "weibo: article:update_at", "mediaid", "article:author", "keywords",
    }
)  # fmt: skip


class Probe:
    """What family detection looks at, read from the parsed tree with a few cheap, tag-specific
    XPaths (a substring search over a 400 KB page costs as much as a tenth of parsing it, and
    detection needs a dozen of them)."""

    def __init__(self, url: str, root: etree._Element) -> None:
        self.url = url
        self.host = host_of(url)
        self.root = root
        self.h1_classes: set[str] = set()
        self.h1_ids: set[str] = set()
        for h1 in _H1(root):
            self.h1_classes.update((h1.get("class") or "").split())
            ident = h1.get("id")
            if ident:
                self.h1_ids.add(ident)
        self._found: dict[str, bool] = {}

    def has(self, xpath: str) -> bool:
        """Does the page hold a match for ``xpath`` (compiled once, answered once)?"""
        if xpath not in self._found:
            self._found[xpath] = find_first(self.root, xpath) is not None
        return self._found[xpath]


class Page:
    """A parsed Sina page. Subclasses say where each field lives for one template family."""

    family = ""
    #: xpath of the body container, relative to the document
    body_xpath = ""
    not_found_reason = "body container missing"
    #: comments that open and close the CMS's own text inside the body (see walk_paragraphs)
    text_region: tuple[str, str] | None = None

    def __init__(
        self,
        url: str,
        body: bytes,
        content_type: str | None = None,
        *,
        decoded: tuple[str, str] | None = None,
        root: etree._Element | None = None,
    ) -> None:
        """``decoded`` and ``root`` let the dispatcher hand over the text it decoded and the
        tree it parsed to pick the family, so that a page is decoded and parsed once."""
        self.url = url
        self._body, self._content_type = body, content_type
        if decoded is not None:
            self._decoded = decoded
        self.root = root if root is not None else parse_html(strip_dataset_wrapper(self.text))

    @cached_property
    def _decoded(self) -> tuple[str, str]:
        """The whole page decoded: only when a family reads the raw text (2005–2013 CMS ids),
        since the tree may come from the article's stretch alone (pages/region.py)."""
        return decode_html(self._body, self._content_type)

    @property
    def text(self) -> str:
        return self._decoded[0]

    @property
    def encoding(self) -> str:
        return self._decoded[1]

    @classmethod
    def matches(cls, probe: Probe) -> bool:
        """Cheap test on the URL and the parsed page (docs/sina-pages.md family detection)."""
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
        for key in list(out):  # 2009 pages write ``Keywords``, ``Description``
            out.setdefault(key.lower(), out[key])
        return out

    def meta(self, *names: str) -> str:
        """The first non-empty ``<meta>`` of these names. Only :data:`META_NAMES` are read: the
        article's stretch (pages/region.py) carries only those of the page's meta tags."""
        for name in names:
            if name not in META_NAMES:
                raise ValueError(f"meta {name!r} is not in META_NAMES")
            value = self.metas.get(name, "")
            if value:
                return value
        return ""

    @cached_property
    def container(self) -> etree._Element:
        el = find_first(self.root, self.body_xpath) if self.body_xpath else None
        if el is None:
            raise NotAnArticle(f"{self.not_found_reason} ({self.family})", stat="no_body")
        return el

    @cached_property
    def containers(self) -> list[etree._Element]:
        """Every body container, in order (one, except on 2005 pages)."""
        return [self.container]

    @cached_property
    def _rendered(self) -> Body:
        """The body transform of the containers (markup/body.py): the post body's HTML and
        the images it shows, from the tree this page parsed, so that the Article hands the
        writer text and lists, never the tree."""
        return render_bodies(self.containers, self.canonical_url())

    # --- fields (``@field``: what Page.to_article assembles), overridable per family ---
    @field
    def body(self) -> str:
        """The post body: the containers through the body transform."""
        return self._rendered.html

    @field
    def body_images(self) -> list[str]:
        """Every image the post body shows (boilerplate blocks included): what to download."""
        return self._rendered.images

    @field
    def images(self) -> list[str]:
        """The article's own pictures: the body's content images less those in paragraphs
        that are not article text (:meth:`noise_images`)."""
        content = self._rendered.content_images
        noise = self.noise_images() if content else set()
        return [u for u in content if u not in noise]

    @field(into=("family",))
    def template_family(self) -> str:
        return self.family

    @field(into=("url",))
    def canonical_url(self) -> str:
        return canonical_article_url(self.url)

    @field
    def doc_id(self) -> str:
        """From the URL, else ``<meta name="publishid">``: that one only when it looks like a doc
        id (letters and digits), since it names files (``name (DOCID).md``) and a page may hold
        anything there (``../../x``)."""
        found = doc_id_from_url(self.url)
        if found:
            return found
        meta = self.meta("publishid").split(",")[-1].strip()
        return meta if _SAFE_DOC_ID.fullmatch(meta) else ""

    @field
    def title(self) -> str:
        raise NotImplementedError

    @field
    def created_at(self) -> datetime | None:
        return parse_beijing(self.meta("weibo: article:create_at"))

    @field
    def published(self) -> datetime | None:
        return None

    @field
    def first_published(self) -> datetime | None:
        return parse_beijing(self.meta("article:published_time"))

    @field
    def modified(self) -> datetime | None:
        return parse_beijing(self.meta("weibo: article:update_at"))

    @field(into=("source", "source_url"))
    def source(self) -> tuple[str, str]:
        return "", ""

    def resolve(self, href: str | None) -> str:
        """A link as a browser follows it (protocol-relative -> https, like the article)."""
        return resolve_url(href, self.canonical_url()) if href and href.strip() else ""

    @field
    def media(self) -> str:
        return self.meta("mediaid", "article:author")

    @field
    def editor(self) -> str:
        return ""

    @field
    def keywords(self) -> list[str]:
        return meta_keywords(self.meta("keywords"), self.title())

    @field
    def breadcrumb(self) -> list[str]:
        return []

    @cached_property
    def _paragraph_roles(self) -> list[tuple[etree._Element, bool]]:
        """Every paragraph of the body containers with whether it lies in the text region."""
        found: list[tuple[etree._Element, bool]] = []
        for container in self.containers:
            found.extend(walk_paragraphs(container, self.text_region))
        return found

    @cached_property
    def _noise_verdicts(self) -> dict[int, bool]:
        """is_noise for each paragraph, plus the related-links block: after a "相关新闻："
        heading, the paragraphs that are nothing but links are a list of other articles (a
        linked sentence elsewhere in the text is the article's own, e.g. a linked lede)."""
        verdicts: dict[int, bool] = {}
        in_related = False
        for p, inside in self._paragraph_roles:
            if not inside:
                continue
            text = text_content(p).strip(_PARA_TRIM)
            noise = self.is_noise(p, text)
            if is_related_heading(p, text):
                in_related = True
            elif in_related and is_link_only(p, text):
                noise = True
            else:
                in_related = False
            verdicts[id(p)] = noise
        return verdicts

    def paragraph_elements(self) -> list[etree._Element]:
        """The paragraphs that may hold article text (noise ones included, see is_noise)."""
        return [p for p, inside in self._paragraph_roles if inside]

    @field
    def paragraphs(self) -> list[str]:
        """Article text only: paragraphs minus the lines that are not the article's words."""
        out = []
        verdicts = self._noise_verdicts
        for p in self.paragraph_elements():
            if verdicts[id(p)]:
                continue
            for line in paragraph_lines(p):
                text = clean_paragraph(line)
                if text:
                    out.append(text)
        return out

    def is_noise(self, p: etree._Element, text: str | None = None) -> bool:
        """Is this paragraph not the article's words? ``text`` is its stripped text when the
        caller has it already."""
        cls = p.get("class") or ""
        if cls and any(c in cls for c in NOT_TEXT_PARAGRAPH_CLASSES):
            return True
        if text is None:
            text = text_content(p).strip(_PARA_TRIM)
        return (
            text.startswith(_NOISE_PREFIXES)
            or _CREDIT_LINE.match(text) is not None
            or is_related_heading(p, text)
        )

    @field
    def original_title(self) -> str:
        if "原标题" not in text_content(self.container):  # most pages: one call, not one a line
            return ""
        for p in self.container.iter("p"):
            text = text_content(p).strip(_PARA_TRIM)
            if text.startswith(("原标题：", "原标题:")):
                return text[4:].strip()
        return ""

    def noise_images(self) -> set[str]:
        """Images the body shows that are not the article's own pictures although body.py's
        rules let them through: those inside paragraphs that are not article text (an app promo
        icon in a link-only paragraph or after the CMS's end-of-text marker) and inside the
        ``NEWSZW_HZH`` in-article ad slot."""
        verdicts = self._noise_verdicts
        elements = [p for p, inside in self._paragraph_roles if not inside or verdicts[id(p)]]
        for container in self.containers:
            elements.extend(between_comments(container, "NEWSZW_HZH_BEGIN", "NEWSZW_HZH_END"))
        if not elements:
            return set()
        return set(images_in(elements, self.canonical_url()))

    def has_video(self) -> bool:
        """Does the body hold a video player (the only content of a video-only article)?"""
        for container in self.containers:
            for el in container.iter("*"):
                if el.tag == "video" or _is_video_block(el):
                    return True
        return False

    def value(self, name: str) -> Any:
        """The value of the field method ``name``, computed once per page (the refusals of
        :meth:`check` read the fields the Article then carries)."""
        memo: dict[str, Any] = self.__dict__.setdefault("_field_values", {})
        if name not in memo:
            memo[name] = getattr(self, name)()
        return memo[name]

    def check(self) -> None:
        """Refuse a page that must not become a post (:class:`NotAnArticle` with the reason),
        before the rest of its fields are read: no headline, or a body with neither text nor
        pictures."""
        if not self.value("title"):
            raise NotAnArticle(f"no headline found ({self.family})", stat="no_title")
        self.value("body")  # rendered first: the images lists come from the same render
        if not self.value("paragraphs") and not self.value("images"):
            if self.has_video():
                raise NotAnArticle(
                    f"video-only page: the body holds a video player but no text and no images"
                    f" ({self.family})",
                    stat="video_only",
                )
            raise NotAnArticle(
                f"body holds neither text nor images (video-only or empty page, {self.family})",
                stat="empty_body",
            )

    def to_article(self) -> Article:
        """The Article of the fields this page object declares (``@field``), after
        :meth:`check`: one assembly for every family, nothing set by hand."""
        self.check()
        values: dict[str, Any] = {}
        cls: type = type(self)  # as a plain type: mypy reads type[Page] as not Hashable
        for name, into in fields_of(cls).items():
            value = self.value(name)
            if len(into) == 1:
                values[into[0]] = value
            else:
                values.update(zip(into, value, strict=True))
        return Article(**values)


_VIDEO_CLASSES = VIDEO_CLASSES
_VIDEO_IDS = VIDEO_IDS


def _is_video_block(el: etree._Element) -> bool:
    cls = el.get("class")
    return el.get("id") in _VIDEO_IDS or bool(cls and _VIDEO_CLASSES.intersection(cls.split()))


def between_comments(container: etree._Element, begin: str, end: str) -> list[etree._Element]:
    """Elements that sit between a comment holding ``begin`` and one holding ``end``, in
    document order at any depth (the markers need not be siblings)."""
    found: list[etree._Element] = []
    if not any(begin in (c.text or "") for c in container.iter(etree.Comment)):
        return found
    inside = False
    for el in container.iter():
        tag = el.tag
        if tag is etree.Comment:
            text = el.text or ""
            if begin in text:
                inside = True
            elif end in text:
                inside = False
        elif inside and isinstance(tag, str):
            found.append(el)
    return found


def texts(elements: Iterable[etree._Element]) -> list[str]:
    """Non-empty, whitespace-squeezed texts of elements (keyword links, breadcrumb links)."""
    return [t for t in (text_of(el) for el in elements) if t]


_SIMPLE_PATH = re.compile(r'//([a-z0-9]+)\[@([a-z-]+)="([^"]*)"\]')


@functools.lru_cache(maxsize=128)
def _finder(xpath: str) -> Callable[[etree._Element], etree._Element | None]:
    """First match of an XPath. ``//tag[@attr="value"]`` runs as ElementPath ``find``, which
    filters by tag in C and costs a third of libxml2's XPath on Sina's pages."""
    m = _SIMPLE_PATH.fullmatch(xpath)
    if m:
        path = f'.//{m.group(1)}[@{m.group(2)}="{m.group(3)}"]'
        return lambda root: root.find(path)
    xp = etree.XPath(xpath)

    def first(root: etree._Element) -> etree._Element | None:
        found = xp(root)
        return found[0] if found else None

    return first


def find_first(root: etree._Element, xpath: str) -> etree._Element | None:
    """The first element an XPath selects (fast for ``//tag[@attr="value"]``), or None."""
    return _finder(xpath)(root)


def compiled(xpath: str) -> Callable[[etree._Element], list[etree._Element]]:
    """A compiled XPath: parsing an expression costs as much as running it on a small page."""
    return etree.XPath(xpath)  # type: ignore[return-value]


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
