"""The post body: the article's body container, serialised the way the archive holds it.

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

from lxml import etree

from newsspider.archive.urls import resolve_url
from newsspider.article import Article

#: elements removed with their content (their tail text stays)
REMOVED = frozenset(
    {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "noscript"}
)
#: what a browser moves into <head> when it comes before any body content
_HEAD_ONLY = frozenset({"style", "link", "meta", "title", "base", "basefont", "bgsound", "script"})
VOID = frozenset(
    {
        "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img",
        "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
    }
)  # fmt: skip
_RAW_TEXT = frozenset({"style", "xmp", "noembed", "noframes", "plaintext"})
_URL_ATTRS = frozenset({"href", "src", "action", "poster", "background", "xlink:href", "data"})
_DROPPED_ATTRS = frozenset({"srcdoc", "formaction"})
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
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
_NOT_CONTENT_CLASSES = frozenset(
    {
        "appendQr_wrap", "app-kaihu-qr", "video-2017", "ct_hqimg", "tech-quotation", "sinaads",
        "video_box", "video-player", "sina-video", "article-notice", "artical-player-wrap",
    }
)  # fmt: skip
_NOT_CONTENT_IDS = frozenset({"Video_Cont", "wx_pic", "left_hzh_ad"})
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
_PLAIN, _REMOVED, _META, _ODD = 0, 1, 2, 3
_KEEP, _DROP, _URL = 0, 1, 2
_TAG_KINDS: dict[str, int] = {}
_ATTR_KINDS: dict[str, int] = {}
#: names seen are cached up to this many (a hostile page can hold any number of odd names)
_KIND_CACHE = 4096


def _tag_kind(tag: str) -> int:
    low = tag.lower()
    if low in REMOVED:
        kind = _REMOVED
    elif low == "meta":
        kind = _META  # kept unless it has http-equiv
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
    elif low in _URL_ATTRS:
        kind = _URL
    else:
        kind = _KEEP
    if len(_ATTR_KINDS) < _KIND_CACHE:
        _ATTR_KINDS[name] = kind
    return kind


def _is_dangerous(value: str) -> bool:
    probe = _SCHEME_NOISE.sub("", html.unescape(value)).lower()
    return probe.startswith(_BAD_SCHEMES)


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
    return "<" in decoded and html.unescape(rest[:16]).lower().startswith("/style")


def _not_content(el: etree._Element) -> bool:
    for anc in el.iterancestors():
        if anc.get("id") in _NOT_CONTENT_IDS or anc.get("sax-type") is not None:
            return True
        cls = anc.get("class")
        if cls and not _NOT_CONTENT_CLASSES.isdisjoint(cls.split()):
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

    def attrs(self, el: etree._Element, tag: str) -> list[tuple[str, str]]:
        kept: list[tuple[str, str]] = []
        for name, value in el.items():
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
            if url not in self._seen_content and not _SPACER.search(url) and not _not_content(el):
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
            elif kind == _META:
                # a <meta http-equiv="refresh"> in a post would send readers elsewhere
                if el.get("http-equiv") is None:
                    self.element(el, "meta")
            elif kind == _REMOVED:
                pass
            else:
                # ``<scr<script>`` (an element named "scr<script") or ``<javascript:x>`` (an
                # autolink to Markdown): the tag goes, its content stays
                if el.text:
                    w(escape_text(el.text))
                for child in el:
                    self.node(child)
        if el.tail:
            w(escape_text(el.tail))

    def element(self, el: etree._Element, tag: str) -> None:
        w = self.out.append
        if el.attrib or tag == "img":
            parts = ["<", tag]
            for name, value in self.attrs(el, tag):
                parts.append(f' {name}="{escape_attr(value)}"' if value else " " + name)
            parts.append(">")
            w("".join(parts))
        else:
            w(f"<{tag}>")
        if tag in VOID:
            return
        if tag in _RAW_TEXT:
            raw = el.text or ""
            w(_decode_guarded(raw, _style_unsafe) if tag == "style" else raw)
        else:
            if el.text:
                w(escape_text(el.text))
            for child in el:
                self.node(child)
        w(f"</{tag}>")


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
    for anc in el.iterancestors():
        if anc is container:
            return False
        if _kind(anc.tag) == _REMOVED:
            return True
    return False


def inner_html(containers: list[etree._Element]) -> str:
    """The containers' content as the page has it (lxml's HTML serialisation, one after the
    other): what :class:`~newsspider.article.Article` carries as ``body`` before the archive's
    body transform (:func:`post_body`)."""
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


def post_body(article: Article) -> Body:
    """The body transform (FORMAT.md BODY): the article's body containers as the post body.

    Rendered from the tree the page object parsed when the article carries it (straight from
    extraction, as in every crawl), so that the bytes are those of the page as parsed;
    otherwise from ``article.body`` parsed again (an Article built by hand, or read back from
    JSON). The two agree where lxml's serialisation round-trips, which it does not quite for
    links: it percent-encodes spaces and non-ASCII in ``href``/``src``, which a page's own
    bytes may hold raw."""
    containers = article.containers()
    if containers is None:
        parser = etree.HTMLParser()
        root = etree.fromstring(f"<html><body><div>{article.body}</div></body></html>", parser)
        containers = [root.find("body/div")] if root is not None else []
    return render_bodies(containers, article.url)


def images_in(elements: list[etree._Element], base_url: str) -> list[str]:
    """The image URLs a body would show for these elements, resolved exactly as the body
    serialiser resolves them (lazy ``data-src``, protocol-relative URLs), so that a page object
    can tell which of a body's images sit in a block it knows to be boilerplate. Only the
    ``<img>`` elements are visited, as :func:`body_images` does."""
    s = _Serializer(base_url)
    for el in elements:
        # a comment shows no image; a removed element none of its own
        if el.tag.__class__ is str and _kind(el.tag) != _REMOVED:
            _visit_images(s, el, itself=True)
    return s.images


_IMG_TAG = re.compile(
    r'<!--.*?-->|<style\b.*?</style>|<img((?:\s+[^\s=>]+(?:="[^"]*")?)*)>', re.DOTALL
)
_SRC_ATTR = re.compile(r'(\ssrc=")([^"]*)(")')


def relink_images(body: str, mapping: dict[str, str]) -> str:
    """Point ``img@src`` at other URLs (local copies, or back to remote) in a rendered body.

    Exact for bodies this module wrote: attribute values are always double-quoted without a raw
    ``"`` in them, and comments and <style> are skipped, so nothing but real <img> tags changes.
    """
    if not mapping:
        return body
    escaped = {escape_attr(k): escape_attr(v) for k, v in mapping.items()}

    def img(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group()
        attrs = _SRC_ATTR.sub(
            lambda a: a.group(1) + escaped.get(a.group(2), a.group(2)) + a.group(3), m.group(1)
        )
        return "<img" + attrs + ">"

    return _IMG_TAG.sub(img, body)
