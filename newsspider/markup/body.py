"""The body transform: an article's body container, serialised the way the archive holds it.

Neutral ground (docs: the package layers): page objects call it while they still hold the parsed
page, and the archive's writer only wraps its result, so that neither imports the other.

The archive was written by RSSHub: cheerio took the container's inner HTML, re-parsed it as a
document, removed scripts, absolutised ``img@src``/``a@href``, serialised it and decoded every
entity. This module reproduces those bytes from an lxml tree (a pure-Python HTML5 parser costs tens
of milliseconds a page) and applies the safety fixes of FORMAT.md on the way.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.entities import html5 as _HTML5_ENTITIES
from typing import Any, AnyStr, overload
from urllib.parse import urlsplit

from lxml import etree

from newsspider.markup.boilerplate import AD_SLOT_ATTR, NOT_PICTURE_CLASSES, NOT_PICTURE_IDS
from newsspider.markup.urls import resolve_url

#: elements removed with their content (their tail text stays): scripts, and the elements
#: whose content a browser never shows as the page's text (nested browsing contexts, and the
#: fallbacks a browser with scripting, frames and plugins reads as raw text)
REMOVED = frozenset(
    {
        "script", "iframe", "frame", "frameset", "noscript", "noembed", "noframes", "portal",
        "fencedframe",
    }
)  # fmt: skip
#: SVG and MathML: removed with their content, the only elements whose text goes with them
#: (a browser parses raw-text elements inside them as markup); see :meth:`_Serializer.foreign`
FOREIGN = frozenset({"svg", "math"})
#: elements whose tag goes and whose content stays: plugin containers (their content is the
#: fallback a browser shows when the plugin does not run), ``<embed>`` (void in HTML5: what lxml
#: nests inside it follows it in a browser), void elements that load or redirect, and SVG's
#: animation elements (outside ``<svg>`` they are inert names, but an ``href`` they aim at
#: is a script URL waiting for a parent)
UNWRAPPED = frozenset(
    {
        "object", "applet", "embed", "param", "link", "meta", "base", "basefont", "bgsound",
        "keygen", "animate", "set", "animatemotion", "animatetransform", "animatecolor",
    }
)  # fmt: skip
#: raw-text elements whose content a browser shows as text: written as escaped text without
#: the tag, so that nothing inside them can become markup (``<plaintext>`` normally never gets
#: here: :func:`html5_prepass` takes its tag out before lxml parses the page)
TEXTIFIED = frozenset({"xmp", "plaintext"})
#: the names :func:`html5_prepass` gives raw-text elements inside SVG/MathML, where a browser
#: parses their content as markup (then lxml does too): unwrapped like UNWRAPPED
RAW_RENAMED_PREFIX = "newsspider-raw-"
#: what a browser moves into <head> when it comes before any body content
_HEAD_ONLY = frozenset({"style", "link", "meta", "title", "base", "basefont", "bgsound", "script"})
VOID = frozenset(
    {
        "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img",
        "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
    }
)  # fmt: skip
_RAW_TEXT = frozenset({"style"})
#: attributes holding one URL: kept when the URL is http(s) or relative (FORMAT.md BODY)
_URL_ATTRS = frozenset(
    {
        "href", "src", "action", "poster", "background", "xlink:href", "data", "dynsrc", "lowsrc",
        "cite", "longdesc", "codebase", "classid", "usemap", "manifest", "icon", "profile",
        "formaction", "xml:base",
    }
)  # fmt: skip
#: attributes holding several URLs separated by whitespace (``archive`` also by commas)
_URL_LIST_ATTRS = frozenset({"ping", "archive"})
#: attributes holding image candidates (``URL descriptor, URL descriptor``)
_SRCSET_ATTRS = frozenset({"srcset", "imagesrcset"})
_DROPPED_ATTRS = frozenset({"srcdoc", "formaction", "http-equiv"})
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_GOOD_SCHEMES = frozenset({"http", "https"})
#: the hosts (and their subdomains) a style may load from: Sina's article, image and script
#: hosts, as ``NEWSSPIDER_IMAGE_HOSTS`` has them by default
CSS_SAME_SITE = ("sina.com.cn", "sina.cn", "sinaimg.cn", "sinajs.cn")
#: a tag name every HTML parser and Markdown renderer reads the same way: letters and digits,
#: with ``-``/``_``/``.``/``:`` inside (custom elements, Word's ``o:p``, ``st1:chsdate``)
_PLAIN_TAG = re.compile(r"[a-z][a-z0-9]*(?:[-_.:][a-z0-9]+)*")
#: characters an attribute name must not hold: HTML5 keeps ``a"b`` or ``e<f`` as a name, but
#: other readers (Markdown renderers, older parsers) split it differently
_ODD_ATTR_NAME = re.compile(r"[\s\"'<>=`/\x00-\x1f\x7f]")
_SCHEME_NOISE = re.compile(r"[\x00-\x20\x7f\s]+")
_IMAGE_NAME = re.compile(r"\.(?:gif|png|jpe?g|webp)(?:$|[?#&/])", re.IGNORECASE)
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_NUMERIC_REF = re.compile(r"#(?:[0-9]|[xX][0-9a-fA-F])")
_NAME_CHARS = re.compile(r"[A-Za-z0-9]{1,32};?")

#: classes/ids whose images are Sina boilerplate or video posters, not the article's pictures
#: (the one list, with its reasons: markup/boilerplate.py)
_NOT_CONTENT_CLASSES = NOT_PICTURE_CLASSES
_NOT_CONTENT_IDS = NOT_PICTURE_IDS
#: 1x1 spacers and placeholders Sina sprinkles into old bodies
_SPACER = re.compile(r"//i\d\.sinaimg\.cn/home/c\.gif$|/default/transform/")


@dataclass
class Body:
    """A serialised body and the images it shows, in document order."""

    html: str
    #: every image a reader sees (boilerplate blocks included): what gets downloaded
    images: list[str] = field(default_factory=list)
    #: the article's own pictures: the first one is headimg/thumbnail
    content_images: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=512)
def _odd_tag(tag: str) -> bool:
    """A tag name that is not plain, or that a Markdown renderer reads as a link to a script
    URL (``<javascript:x>`` is an autolink there)."""
    return _PLAIN_TAG.fullmatch(tag) is None or tag.startswith(_BAD_SCHEMES)


# what the serialiser does with a tag or an attribute name, decided once per name
_PLAIN, _REMOVED, _UNWRAP, _ODD, _FOREIGN, _TEXTIFY, _STYLE = 0, 1, 2, 3, 4, 5, 6
_KEEP, _DROP, _URL, _URL_LIST, _SRCSET, _STYLE_ATTR = 0, 1, 2, 3, 4, 5
_TAG_KINDS: dict[str, int] = {}
_ATTR_KINDS: dict[str, int] = {}
#: names seen are cached up to this many (a hostile page can hold any number of odd names)
_KIND_CACHE = 4096


def _tag_kind(tag: str) -> int:
    low = tag.lower()
    if low in REMOVED:
        kind = _REMOVED
    elif low in FOREIGN:
        kind = _FOREIGN
    elif low in UNWRAPPED or low.startswith(RAW_RENAMED_PREFIX):
        kind = _UNWRAP
    elif low in TEXTIFIED:
        kind = _TEXTIFY
    elif low == "style":
        kind = _STYLE
    elif _odd_tag(low):
        kind = _ODD
    else:
        kind = _PLAIN
    if len(_TAG_KINDS) < _KIND_CACHE:
        _TAG_KINDS[tag] = kind
    return kind


def _attr_kind(name: str) -> int:
    low = name.lower()
    if low.startswith("on") or low in _DROPPED_ATTRS or _ODD_ATTR_NAME.search(low):
        kind = _DROP
    elif low in _URL_ATTRS or low.endswith(":href"):
        kind = _URL
    elif low in _URL_LIST_ATTRS:
        kind = _URL_LIST
    elif low in _SRCSET_ATTRS:
        kind = _SRCSET
    elif low == "style":
        kind = _STYLE_ATTR
    else:
        kind = _KEEP
    if len(_ATTR_KINDS) < _KIND_CACHE:
        _ATTR_KINDS[name] = kind
    return kind


def _is_dangerous(value: str) -> bool:
    """Is this URL anything but http(s) or relative, read as a browser reads it (entities
    decoded, whitespace and control characters anywhere removed: stricter than a browser,
    which removes only tabs and line breaks inside)?"""
    if ":" not in value and "&" not in value:
        return False  # relative, no scheme possible: most values
    probe = _SCHEME_NOISE.sub("", html.unescape(value)).lower()
    m = _SCHEME.match(probe)
    return m is not None and m.group(1) not in _GOOD_SCHEMES


def _list_dangerous(value: str, srcset: bool) -> bool:
    """Does any URL of a whitespace-separated list (``ping``, ``archive``) or of an image
    candidate list (``srcset``: commas between candidates, a descriptor after each URL) fail
    :func:`_is_dangerous`?"""
    if ":" not in value and "&" not in value:
        return False
    decoded = html.unescape(value)
    return any(token and _is_dangerous(token) for token in re.split(r"[\s,]+", decoded))


_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\n\r\f]?|(\r\n|[\n\r\f])|(.))", re.DOTALL)
#: what in a style can run code or load something, once comments and escapes are decoded and
#: whitespace removed: IE's expression(), HTC behaviours and filters, XBL bindings, script URLs,
#: imported sheets
_CSS_ACTIVE = re.compile(
    r"expression|behaviou?r|-moz-binding|binding:|javascript:|vbscript:|livescript:|@import"
    r"|progid|-o-link|mocha:"
)
#: what any unsafe CSS holds before decoding (a quick test for the common plain style)
_CSS_MAYBE = re.compile(r"[(@\\&]|script|expression|behaviou?r|binding|progid|-o-link", re.I)
_CSS_URL = re.compile(r"(?:url|image-set|-webkit-image-set|image|src)\(\s*(['\"]?)([^'\")]*)")
_CSS_STRING_IN_SET = re.compile(r"image-set\(([^)]*)\)")
_CSS_QUOTED = re.compile(r"['\"]([^'\"]*)['\"]")


def _css_unescape(css: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1):
            code = int(m.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
        if m.group(2):
            return ""
        return m.group(3)

    return _CSS_ESCAPE.sub(one, css) if "\\" in css else css


def _same_site_css_url(url: str) -> bool:
    """May a style load ``url``: relative (to the article, on a Sina host), or http(s) on one
    of :data:`CSS_SAME_SITE` or their subdomains? A backslash counts as a slash, as in a
    browser (``\\\\evil.example`` is ``//evil.example``)."""
    url = _SCHEME_NOISE.sub("", url).replace("\\", "/")
    if not url:
        return True
    if _is_dangerous(url):
        return False
    if not url.startswith("//") and _SCHEME.match(url.lower()) is None:
        return True
    host = urlsplit(url if ":" in url.split("/", 1)[0] else "https:" + url).hostname or ""
    host = host.rstrip(".").lower()
    return any(host == h or host.endswith("." + h) for h in CSS_SAME_SITE)


def css_unsafe(css: str) -> bool:
    """Can this CSS (a ``style`` attribute or a ``<style>`` block) run anything or load
    anything from another host than Sina's? Judged after HTML entities, CSS comments and CSS
    escapes are decoded, in both orders (``\\65xpression``, ``exp/**/ression``), and with
    whitespace removed; any ``url(``/``image-set(`` target must be relative or on
    :data:`CSS_SAME_SITE`."""
    if not css:
        return False
    if not _CSS_MAYBE.search(css):
        return False  # nothing to decode, no function, no keyword: most styles
    probes = {css}
    if "&" in css or "\\" in css or "/*" in css:  # something to decode: every reading
        probes.add(html.unescape(css))
        for text in list(probes):
            once = _css_unescape(_CSS_COMMENT.sub("", text))
            probes.add(once)
            probes.add(_CSS_COMMENT.sub("", once))
    for probe in probes:
        low = probe.lower()
        squeezed = _SCHEME_NOISE.sub("", low)
        if _CSS_ACTIVE.search(squeezed) or _CSS_ACTIVE.search(low):
            return True
        if "(" not in low:
            continue
        for m in _CSS_URL.finditer(low):
            if m.group(2).strip() and not _same_site_css_url(m.group(2).strip()):
                return True
        for m in _CSS_STRING_IN_SET.finditer(low):
            for q in _CSS_QUOTED.finditer(m.group(1)):
                if not _same_site_css_url(q.group(1)):
                    return True
    return False


def _amp_starts_reference(s: str, i: int, in_attr: bool) -> bool:
    """Would an HTML parser read the ``&`` at ``s[i]`` as the start of a character reference?"""
    if _NUMERIC_REF.match(s, i + 1):
        return True
    m = _NAME_CHARS.match(s, i + 1)
    if not m:
        return False
    cand = m.group()
    for k in range(len(cand), 0, -1):
        name = cand[:k]
        if name in _HTML5_ENTITIES:
            if in_attr and not name.endswith(";"):
                nxt = s[i + 1 + k : i + 2 + k]
                if nxt == "=" or nxt.isalnum():
                    return False
            return True
    return False


def _escape_amps(s: str, in_attr: bool) -> str:
    if "&" not in s:
        return s
    out = []
    start = 0
    for m in re.finditer("&", s):
        i = m.start()
        if _amp_starts_reference(s, i, in_attr):
            out.append(s[start:i] + "&amp;")
            start = i + 1
    out.append(s[start:])
    return "".join(out)


#: ``](`` or ``]:`` of a Markdown link or link definition
_MD_LINK = re.compile(r"\]([ \t]*)([(:])")


def _defuse_markdown(s: str) -> str:
    """``[x](javascript:...)`` in text is a script link once a Markdown renderer reads the lines
    after a blank line of the body (FORMAT.md "Rendering in Markdown"). Where the link's target
    is a script URL (entities decoded, whitespace and controls removed, as a browser reads it),
    its ``(`` or ``:`` is written as a character reference: the same text on screen, no link."""

    def defuse(m: re.Match[str]) -> str:
        target = html.unescape(s[m.end() : m.end() + 80])
        if _SCHEME_NOISE.sub("", target).lstrip("<").lower().startswith(_BAD_SCHEMES):
            return "]" + m.group(1) + ("&#40;" if m.group(2) == "(" else "&#58;")
        return m.group()

    return _MD_LINK.sub(defuse, s)


def escape_text(s: str) -> str:
    if "&" in s:
        s = _escape_amps(s, False)
    if "<" in s:
        s = s.replace("<", "&lt;")
    if "]" in s and ("](" in s or "]:" in s or "] " in s):
        s = _defuse_markdown(s)
    return s


def escape_attr(s: str) -> str:
    if "&" in s:
        s = _escape_amps(s, True)
    if '"' in s:
        s = s.replace('"', "&quot;")
    return s


def _decode_guarded(raw: str, unsafe: Callable[[str, str, str], bool]) -> str:
    """Decode entities in raw text (comments, <style>) except where ``unsafe`` says the decoded
    character would end the construct early. ``unsafe`` sees the last few characters written
    (empty at the very start), the decoded text and the raw text that follows."""
    if "&" not in raw:
        return raw
    out: list[str] = []
    pos = 0
    recent = ""
    for m in _CHARREF.finditer(raw):
        seg = raw[pos : m.start()]
        out.append(seg)
        recent = (recent + seg)[-8:]
        decoded = html.unescape(m.group())
        piece = m.group() if unsafe(recent, decoded, raw[m.end() : m.end() + 16]) else decoded
        out.append(piece)
        recent = (recent + piece)[-8:] or piece
        pos = m.end()
    out.append(raw[pos:])
    return "".join(out)


def _comment_unsafe(before: str, decoded: str, rest: str) -> bool:
    probe = before[-4:] + decoded + rest[:4]
    if not before and probe.startswith((">", "->")):
        return True
    return "-->" in probe or "--!>" in probe


def _style_unsafe(before: str, decoded: str, rest: str) -> bool:
    """Inside <style> an entity never becomes a ``<``: no decoding makes a tag (or ends the
    block early)."""
    return "<" in decoded


def _marked_not_content(el: etree._Element) -> bool:
    if el.get("id") in _NOT_CONTENT_IDS or el.get(AD_SLOT_ATTR) is not None:
        return True
    cls = el.get("class")
    return bool(cls) and not _NOT_CONTENT_CLASSES.isdisjoint(cls.split())


def _not_content(
    el: etree._Element, container: etree._Element | None = None, outside: bool = False
) -> bool:
    """Does an ancestor of ``el`` mark a boilerplate block? With ``container`` (an ancestor of
    ``el``) the walk stops there and ``outside`` answers for the container and above: decided
    once per body rather than once per image up to the document's root."""
    for anc in el.iterancestors():
        if anc is container:
            return outside
        if _marked_not_content(anc):
            return True
    return False


def _lazy_image_url(attrs: list[tuple[str, str]], base: str) -> str:
    for name, value in attrs:
        if name != "src" and _IMAGE_NAME.search(value) and not _is_dangerous(value):
            url = resolve_url(value, base)
            if url.startswith(("http://", "https://")):
                return url
    return ""


class _Serializer:
    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.out: list[str] = []
        self.images: list[str] = []
        self.content_images: list[str] = []
        # membership sets beside the ordered lists: a body with 10,000 <img> would otherwise
        # cost 50 million comparisons (seconds) in the list lookups below
        self._seen: set[str] = set()
        self._seen_content: set[str] = set()
        #: the body container being written, when there is one, and whether it or an ancestor
        #: marks a boilerplate block (see :func:`_not_content`)
        self.container: etree._Element | None = None
        self.outside = False

    def enter(self, container: etree._Element) -> None:
        self.container = container
        self.outside = _marked_not_content(container) or _not_content(container)

    def attrs(
        self, el: etree._Element, tag: str, items: list[tuple[str, str]] | None = None
    ) -> list[tuple[str, str]]:
        """The attributes written, in order; ``items`` are ``el.items()`` when the caller has
        them already."""
        kept: list[tuple[str, str]] = []
        for name, value in el.items() if items is None else items:
            kind = _ATTR_KINDS.get(name)
            if kind is None:
                kind = _attr_kind(name)
            if kind == _DROP:
                continue
            name = name.lower()
            if tag == "img" and name in ("src", "referrerpolicy"):
                kept.append((name, value))  # decided below
                continue
            if kind == _URL:
                if _is_dangerous(value):
                    continue
                if tag == "a" and name == "href":
                    value = resolve_url(value, self.base)
            elif kind in (_URL_LIST, _SRCSET):
                if _list_dangerous(value, kind == _SRCSET):
                    continue
            elif kind == _STYLE_ATTR and css_unsafe(value):
                continue
            kept.append((name, value))
        if tag == "img":
            kept = self.img_attrs(el, kept)
        return kept

    def img_attrs(self, el: etree._Element, kept: list[tuple[str, str]]) -> list[tuple[str, str]]:
        src = next((v for n, v in kept if n == "src"), None)
        out = [(n, v) for n, v in kept if n != "referrerpolicy"]
        url = ""
        if src is None or not src.strip():
            url = _lazy_image_url(out, self.base)
            out = [(n, v) for n, v in out if n != "src"]
            if url:
                out.append(("src", url))
        elif _is_dangerous(src):
            url = _lazy_image_url(out, self.base)
            out = [(n, url) if n == "src" else (n, v) for n, v in out if n != "src" or url]
        else:
            url = resolve_url(src, self.base)
            out = [(n, url) if n == "src" else (n, v) for n, v in out]
        out.append(("referrerpolicy", "no-referrer"))
        if url.startswith(("http://", "https://")):
            if url not in self._seen:
                self._seen.add(url)
                self.images.append(url)
            if (
                url not in self._seen_content
                and not _SPACER.search(url)
                and not _not_content(el, self.container, self.outside)
            ):
                self._seen_content.add(url)
                self.content_images.append(url)
        return out

    def node(self, el: etree._Element) -> None:
        tag = el.tag
        w = self.out.append
        if tag.__class__ is not str:
            if tag is etree.Comment:
                w("<!--" + _decode_guarded(el.text or "", _comment_unsafe) + "-->")
            # processing instructions and entities: dropped, as a browser does
        else:
            kind = _TAG_KINDS.get(tag)
            if kind is None:
                kind = _tag_kind(tag)
            if kind == _PLAIN:
                self.element(el, tag.lower())
            elif kind == _REMOVED:
                pass
            elif kind == _FOREIGN:
                self.foreign(el)
            elif kind == _TEXTIFY:
                # the text a browser shows, as text: never markup again
                w(escape_text(etree.tostring(el, method="text", encoding=str, with_tail=False)))
            elif kind == _STYLE:
                if not css_unsafe(el.text or ""):  # one that can load or run anything goes
                    self.element(el, "style")
            else:
                # _UNWRAP: the tag goes, its content stays (lxml nests what follows a void
                # <embed> inside it). _ODD: ``<scr<script>`` (an element named "scr<script")
                # or ``<javascript:x>`` (an autolink to Markdown): the tag goes, its content stays
                self.content(el)
        tail = el.tail
        if tail:
            w(escape_text(tail))

    def content(self, el: etree._Element) -> None:
        if el.text:
            self.out.append(escape_text(el.text))
        for child in el:
            self.node(child)

    def foreign(self, root: etree._Element) -> None:
        """``<svg>``/``<math>``: removed with their content, except what a browser would not
        have put inside it. In SVG and MathML a browser ends the foreign element at the first
        HTML-only start tag (``<p>``, ``<div>``, ``<img>``, … :data:`_BREAKOUT`) outside an
        integration point; lxml nests it inside instead. That element and everything after it
        in the foreign subtree are written as HTML, sanitised like the rest, so that an
        unclosed ``<svg>`` does not take the article's text with it."""
        start = breakout_point(root)
        if start is None:
            return
        cur = start
        self.node(start)
        while True:
            parent = cur.getparent()
            for sib in cur.itersiblings():
                self.node(sib)
            if parent is root or parent is None:
                return
            cur = parent
            if cur.tail:
                self.out.append(escape_text(cur.tail))

    def element(self, el: etree._Element, tag: str) -> None:
        w = self.out.append
        items = el.items()  # one call: ``el.attrib`` would build a proxy object first
        if items or tag == "img":
            parts = ["<", tag]
            for name, value in self.attrs(el, tag, items):
                parts.append(f' {name}="{escape_attr(value)}"' if value else " " + name)
            parts.append(">")
            w("".join(parts))
        else:
            w(f"<{tag}>")
        if tag in VOID:
            if el.text or len(el):
                # lxml nested what follows a void tag inside it: a browser puts it after
                self.content(el)
            return
        if tag in _RAW_TEXT:
            w(_decode_guarded(el.text or "", _style_unsafe))
        else:
            text = el.text
            if text:
                w(escape_text(text))
            for child in el:
                self.node(child)
        w(f"</{tag}>")


#: HTML start tags that end SVG/MathML content in a browser (HTML5 "parsing main in foreign
#: content"); ``font`` only with ``color``, ``face`` or ``size``
_BREAKOUT = frozenset(
    {
        "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
        "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
        "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong",
        "strike", "sub", "sup", "table", "tt", "u", "ul", "var",
    }
)  # fmt: skip
#: SVG and MathML elements whose content a browser parses as HTML (integration points), by the
#: namespace they are in (``<mtext>`` inside ``<svg>`` is an SVG element like any other), with
#: the name html5_prepass gives SVG's raw-text ``<title>``; ``annotation-xml`` only with an HTML
#: ``encoding`` (:func:`_integration_point`)
_INTEGRATION = {
    "svg": frozenset({"foreignobject", "desc", "title", RAW_RENAMED_PREFIX + "title"}),
    "math": frozenset({"mi", "mo", "mn", "ms", "mtext", "annotation-xml"}),
}


_FONT_BREAKOUT = frozenset({"color", "face", "size"})


def _integration_point(low: str, namespace: str, encoding: str | None) -> bool:
    if low not in _INTEGRATION[namespace]:
        return False
    if low == "annotation-xml":
        return (encoding or "").strip().lower() in ("text/html", "application/xhtml+xml")
    return True


def breakout_point(root: etree._Element) -> etree._Element | None:
    """The first element under an ``<svg>``/``<math>`` ``root`` (document order) at which a
    browser would have left foreign content, or None when all of it stays inside."""

    def walk(el: etree._Element, namespace: str) -> etree._Element | None:
        for child in el:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            low = tag.lower()
            if low in _BREAKOUT or (low == "font" and not _FONT_BREAKOUT.isdisjoint(child.attrib)):
                return child
            if _integration_point(low, namespace, child.get("encoding")):
                continue  # its content is HTML inside the foreign element
            found = walk(child, low if low in FOREIGN else namespace)
            if found is not None:
                return found
        return None

    return walk(root, root.tag.lower())


def _leading(container: etree._Element) -> tuple[str, list[etree._Element]]:
    """Drop what a browser would not put into <body> when the inner HTML is parsed as a document:
    whitespace and comments before the first element, and head-only elements there."""
    children = list(container)
    text = (container.text or "").lstrip()
    if text:
        return text, children
    i = 0
    while i < len(children):
        child = children[i]
        tag = child.tag
        if isinstance(tag, str) and tag.lower() not in _HEAD_ONLY:
            break
        tail = (child.tail or "").lstrip()
        i += 1
        if tail:
            return tail, children[i:]
    return "", children[i:]


def render_body(container: etree._Element, base_url: str) -> Body:
    """The inner HTML of ``container`` as the post body (remote image URLs)."""
    s = _Serializer(base_url)
    s.enter(container)
    text, children = _leading(container)
    if text:
        s.out.append(escape_text(text))
    for child in children:
        s.node(child)
    return Body("".join(s.out), s.images, s.content_images)


def render_bodies(containers: list[etree._Element], base_url: str) -> Body:
    """Several body containers as one post body, one after another (a 2005 page splits its text
    into several ``font#zoom`` around an in-article ad): each is rendered as :func:`render_body`
    renders it, and the image lists are merged in order without repeats."""
    if len(containers) == 1:
        return render_body(containers[0], base_url)
    html_parts: list[str] = []
    images: list[str] = []
    content: list[str] = []
    for container in containers:
        body = render_body(container, base_url)
        html_parts.append(body.html)
        images.extend(u for u in body.images if u not in images)
        content.extend(u for u in body.content_images if u not in content)
    return Body("".join(html_parts), images, content)


def body_images(containers: list[etree._Element], base_url: str) -> tuple[list[str], list[str]]:
    """(every image, the article's own images) that :func:`render_bodies` would find in these
    containers, in order, without serialising them: only ``<img>`` elements are visited, with
    the serialiser's own attribute rules, and those inside a removed element are skipped."""
    s = _Serializer(base_url)
    for container in containers:
        s.enter(container)
        _visit_images(s, container, itself=False)
    return s.images, s.content_images


def _visit_images(s: _Serializer, root: etree._Element, *, itself: bool) -> None:
    """Let the serialiser see every ``<img>`` under ``root`` it would write (and ``root`` when
    it is one and ``itself``), in document order."""
    for img in root.iter("img"):
        if img is root:
            if itself:
                s.attrs(img, "img")
        elif not _inside_removed(img, root):
            s.attrs(img, "img")


def _kind(tag: str) -> int:
    kind = _TAG_KINDS.get(tag)
    return _tag_kind(tag) if kind is None else kind


def _inside_removed(el: etree._Element, container: etree._Element) -> bool:
    """Would the serialiser leave ``el`` out: inside a removed or textified element, or inside
    ``<svg>``/``<math>`` before the point where a browser leaves it (:func:`breakout_point`)?"""
    for anc in el.iterancestors():
        if anc is container:
            return False
        kind = _kind(anc.tag) if anc.tag.__class__ is str else _PLAIN
        if kind in (_REMOVED, _TEXTIFY):
            return True
        if kind == _FOREIGN and not _after_breakout(el, anc):
            return True
    return False


def _after_breakout(el: etree._Element, root: etree._Element) -> bool:
    """Is ``el`` (a descendant of the foreign ``root``) at or after its breakout point?"""
    start = breakout_point(root)
    if start is None:
        return False
    for node in root.iterdescendants():
        if node is start:
            return True
        if node is el:
            return False
    return False


def inner_html(containers: list[etree._Element]) -> str:
    """The containers' content as the page has it (lxml's HTML serialisation, one after the
    other): what :class:`~newsspider.article.Article` carries as ``body`` before the body
    transform (:func:`transform_html`)."""
    parts: list[str] = []
    for container in containers:
        whole = etree.tostring(container, method="html", encoding=str, with_tail=False)
        shell = etree.Element(container.tag, dict(container.attrib))
        start, _, end = etree.tostring(shell, method="html", encoding=str).rpartition("</")
        if whole.startswith(start) and whole.endswith("</" + end):
            parts.append(whole[len(start) : len(whole) - len(end) - 2])
        else:  # a void or odd container: its children one by one
            if container.text:
                parts.append(html.escape(container.text, quote=False))
            parts.extend(etree.tostring(c, method="html", encoding=str) for c in container)
    return "".join(parts)


#: what html5_prepass looks at: comments and every start or end tag (only pages holding
#: <svg>, <math> or <plaintext> are scanned)
_PREPASS_SOURCE = r"<!--|<(/?)([a-zA-Z][a-zA-Z0-9-]*)(?=[\s/>])"
#: outside SVG/MathML only these tags matter: the rest is skipped at the regex engine's speed
_PREPASS_HTML_SOURCE = (
    r"<!--|<(/?)(svg|math|plaintext|script|style|xmp|noembed|noscript|iframe|noframes|textarea"
    r"|title)(?=[\s/>])"
)
_PREPASS: dict[type, re.Pattern[Any]] = {
    str: re.compile(_PREPASS_SOURCE),
    bytes: re.compile(_PREPASS_SOURCE.encode()),
}
_PREPASS_HTML: dict[type, re.Pattern[Any]] = {
    str: re.compile(_PREPASS_HTML_SOURCE, re.IGNORECASE),
    bytes: re.compile(_PREPASS_HTML_SOURCE.encode(), re.IGNORECASE),
}
#: raw-text elements whose content a browser parses as markup inside SVG/MathML
_RENAMED_IN_FOREIGN = frozenset(
    {"style", "xmp", "noembed", "noscript", "iframe", "noframes", "textarea", "title"}
)
#: elements lxml reads as raw text (or RCDATA) in HTML, to their end tag
_RAW_IN_HTML = frozenset(
    {"script", "style", "xmp", "noembed", "noscript", "iframe", "noframes", "textarea", "title"}
)
_ENCODING_ATTR = re.compile(r"""encoding\s*=\s*["']?\s*([a-zA-Z/+.-]+)""", re.IGNORECASE)


# overloads rather than AnyStr alone: parse_html passes a page that is str or bytes, which a
# constrained type variable refuses and overloads accept (str | bytes back)
@overload
def html5_prepass(text: str) -> str: ...
@overload
def html5_prepass(text: bytes) -> bytes: ...


def html5_prepass(text: AnyStr) -> AnyStr:
    """The page's markup with the two places where lxml's HTML parser and a browser's HTML5
    tree builder read different elements, rewritten so that lxml builds a browser's elements:

    - inside ``<svg>``/``<math>`` a browser parses the content of ``<style>``, ``<xmp>``,
      ``<noembed>``, ``<noscript>``, ``<iframe>``, ``<noframes>``, ``<textarea>`` and
      ``<title>`` as markup, lxml as raw text (an unclosed one swallows the rest of the page,
      and its text hides an ``<img onerror>`` a browser would run). Their tags are renamed
      ``newsspider-raw-NAME``, so lxml parses their content as markup too; the serialiser
      unwraps them (what remains of them is inside the removed ``<svg>``/``<math>``, or
      after where a browser leaves it: :func:`breakout_point`).
    - ``<plaintext>`` makes the whole rest of the page raw text, the page's scripts and
      footer included: its start tag is taken out, so the body container ends where the page's
      own tags end it and what followed the tag is read as markup (and sanitised).
    - ``<noscript>`` is raw text to its first ``</noscript>`` in a browser (scripting on), markup
      in lxml: a nested one, or ``</noscript>`` inside an attribute, makes lxml's element run
      past that end tag and take the article's text with it when the post drops it. Outside
      SVG/MathML each one is taken out whole, to its first end tag (the post drops it anyway).

    Whether a tag is in foreign content is tracked as a browser's tree builder tracks it, in
    outline: ``<svg>``/``<math>`` open it, their end tags close it, an integration point
    (``<foreignObject>``, ``<mtext>``, …) holds HTML until its end tag, and an HTML-only start
    tag (``<p>``, ``<img>``, … :data:`_BREAKOUT`) or ``</p>``/``</br>`` leaves it. Comments and
    the raw text of raw-text elements in HTML are skipped as lxml skips them. Called only for
    pages whose tree holds one of these elements, or a ``<noscript>`` whose extent lxml and a
    browser read differently (see ``pages.base.parse_html``)."""
    kind = bytes if isinstance(text, bytes) else str
    every_tag, html_tags = _PREPASS[kind], _PREPASS_HTML[kind]

    def lit(s: str) -> AnyStr:
        return s.encode() if kind is bytes else s  # type: ignore[return-value]

    out: list[AnyStr] = []
    pos = i = 0
    n = len(text)
    #: open contexts, innermost last: ("foreign", "svg"/"math") or ("html", integration point)
    stack: list[tuple[str, str]] = []
    while i < n:
        m = (every_tag if stack else html_tags).search(text, i)
        if m is None:
            break
        if m.group(2) is None:  # a comment: to its end, as libxml2 2.14 reads it
            if text.startswith((lit("<!-->"), lit("<!--->")), m.start()):
                i = text.index(lit(">"), m.start() + 4) + 1
                continue
            ends = [e for e in (text.find(lit("-->"), m.end()), text.find(lit("--!>"), m.end()))
                    if e >= 0]  # fmt: skip
            if not ends:
                break
            i = text.index(lit(">"), min(ends)) + 1
            continue
        tag = m.group(2).lower()
        name: str = tag.decode() if isinstance(tag, bytes) else tag
        slash = bool(m.group(1))
        gt = text.find(lit(">"), m.end())
        if gt < 0:
            break
        i = gt + 1
        foreign = bool(stack) and stack[-1][0] == "foreign"
        if name == "plaintext":
            if not slash:
                out.append(text[pos : m.start()])
                pos = gt + 1
        elif name in ("svg", "math"):
            if slash:
                while stack:
                    if stack.pop() == ("foreign", name):
                        break
            elif text[gt - 1 : gt] != lit("/"):
                stack.append(("foreign", name))
        elif foreign:
            if (not slash and name in _BREAKOUT) or (slash and name in ("p", "br")):
                while stack and stack[-1][0] == "foreign":
                    stack.pop()
                if not slash and name in _RAW_IN_HTML:
                    i = _raw_end(text, name, gt, lit)
            elif name in _RENAMED_IN_FOREIGN:
                out.append(text[pos : m.start() + 1 + slash])
                out.append(lit(RAW_RENAMED_PREFIX + name))
                pos = m.end()
                if not slash and name == "title" and stack[-1][1] == "svg":
                    stack.append(("html", name))  # SVG's <title> holds HTML
            elif not slash and text[gt - 1 : gt] != lit("/"):
                enc = None
                if name == "annotation-xml":
                    attrs = text[m.end() : gt]
                    found = _ENCODING_ATTR.search(
                        attrs.decode("latin-1") if isinstance(attrs, bytes) else attrs
                    )
                    enc = found.group(1) if found else None
                if _integration_point(name, stack[-1][1], enc):
                    stack.append(("html", name))
        elif slash:
            if stack and stack[-1] == ("html", name):
                stack.pop()
                if name == "title":  # an SVG <title>, renamed at its start
                    out.append(text[pos : m.start() + 2])
                    out.append(lit(RAW_RENAMED_PREFIX + name))
                    pos = m.end()
        elif name in _RAW_IN_HTML:
            i = _raw_end(text, name, gt, lit)
            if name == "noscript" and i >= 0:
                # a browser (scripting on) reads it as raw text to the first </noscript>, and
                # the post drops it: lxml reads markup, which can run past that end tag
                close = text.find(lit(">"), i)
                if close >= 0:
                    out.append(text[pos : m.start()])
                    pos = i = close + 1
        if i < 0:
            break
    if not out:
        return text
    out.append(text[pos:])
    return lit("").join(out)


def odd_noscript(root: etree._Element) -> bool:
    """Does the tree hold a ``<noscript>`` that a browser would end earlier than lxml did (one
    nested in another, or ``</noscript>`` written inside an attribute value)? Looked for only
    where a page has ``<noscript>`` at all (lxml's tag lookup is free otherwise)."""
    for el in root.iter("noscript"):
        for inner in el.iterdescendants():
            if inner.tag == "noscript":
                return True
            for value in inner.attrib.values() if inner.tag.__class__ is str else ():
                if "</noscript" in value.lower():
                    return True
    return False


def _raw_end(text: AnyStr, name: str, gt: int, lit: Callable[[str], AnyStr]) -> int:
    """Where the raw text of the ``name`` element whose start tag ends at ``gt`` ends (its end
    tag's start), or -1 when it never does."""
    end = re.compile(lit(r"</" + name + r"(?=[\s/>])"), re.IGNORECASE).search(text, gt)
    return -1 if end is None else end.start()


def images_in(elements: list[etree._Element], base_url: str) -> list[str]:
    """The image URLs a body would show for these elements, resolved exactly as the body
    serialiser resolves them (lazy ``data-src``, protocol-relative URLs), so that a page object
    can tell which of a body's images sit in a block it knows to be boilerplate. Only the
    ``<img>`` elements are visited, as :func:`body_images` does."""
    s = _Serializer(base_url)
    for el in elements:
        # a comment shows no image; a removed element none of its own
        if el.tag.__class__ is str and _kind(el.tag) not in (_REMOVED, _TEXTIFY):
            _visit_images(s, el, itself=True)
    return s.images


def transform_html(inner: str, base_url: str) -> Body:
    """The body transform of HTML text (a body container's inner HTML): parsed with the
    pre-pass as a page is, then rendered. For bodies that arrive as text (an Article built by
    hand, or read back from JSON); a page object renders the tree it parsed instead, which
    differs where lxml's serialisation does not round-trip (it percent-encodes spaces and
    non-ASCII in ``href``/``src``)."""
    parser = etree.HTMLParser()
    text = html5_prepass(f"<html><body><div>{inner}</div></body></html>")
    root = etree.fromstring(text, parser)
    containers = [root.find("body/div")] if root is not None else []
    return render_bodies(containers, base_url)
