"""A browser-grade safety oracle for post bodies: html5lib's HTML5 tree builder, twice.

Why: production parses with lxml (libxml2), whose tree differs from a browser's exactly where
markup is hostile: raw-text elements inside ``<svg>``/``<math>``, ``<noscript>`` with scripting
on or off, comments that end early, CDATA in foreign content. A post is a web page, so it is
judged by what a browser would build from it: the body is parsed as the inner HTML of a
``<div>`` (the post template wraps it in one) with ``scripting=True`` (how browsers parse
``<noscript>``) and again with ``scripting=False`` (feed readers, previews), and is unsafe if
either tree holds anything that runs or loads:

- a ``script`` element in any namespace (HTML, SVG, MathML);
- an event-handler attribute (``on…``), ``srcdoc`` or ``formaction``;
- a ``javascript:``/``vbscript:``/``data:`` URL (or any scheme but http(s)) in a URL attribute
  or a ``srcset`` candidate, after what a browser strips (leading and trailing C0 controls and
  spaces, tabs and line breaks anywhere; html5lib has decoded entities already);
- an ``animate``/``set``/``animateMotion``/``animateTransform`` aimed at ``href``;
- an ``iframe``/``frame``/``frameset``/``object``/``embed``/``applet``/``base``/``portal``,
  a ``<meta http-equiv>``, a stylesheet/import/preload ``<link>``;
- CSS (``style`` attributes, ``<style>`` text) that runs code (``expression``, ``behavior``,
  ``-moz-binding``, ``javascript:``) or loads from another host (``@import``, ``url(``,
  ``image-set(`` to a host other than Sina's: docs/FORMAT.md), judged after CSS comments and
  escapes are decoded.

It is written independently of ``newsspider/markup/body.py`` (its own lists, its own CSS
reading), so that the two do not share a blind spot. html5lib costs 1–3 ms a body: tests only.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from xml.etree import ElementTree

import html5lib

#: hosts (and subdomains) a style may load from (docs/FORMAT.md "CSS")
SAME_SITE = ("sina.com.cn", "sina.cn", "sinaimg.cn", "sinajs.cn")
ACTIVE_ELEMENTS = frozenset(
    {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal", "fencedframe"}
)
URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "action", "formaction", "poster", "background", "data", "dynsrc",
        "lowsrc", "cite", "longdesc", "codebase", "classid", "usemap", "manifest", "icon",
        "profile", "xml:base",
    }
)  # fmt: skip
URL_LIST_ATTRIBUTES = frozenset({"srcset", "imagesrcset", "ping", "archive"})
ANIMATIONS = frozenset({"animate", "set", "animatemotion", "animatetransform", "animatecolor"})
LOADING_LINKS = frozenset(
    {"stylesheet", "import", "preload", "modulepreload", "prefetch", "prerender"}
)
_STRIP = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6}\s?|\n|.)", re.DOTALL)
_CSS_RUNS = ("expression", "behavior", "behaviour", "-moz-binding", "javascript:", "vbscript:")
_CSS_LOADS = re.compile(r"(url|image-set|-webkit-image-set|image|src)\(\s*['\"]?([^'\")]*)")
_CSS_IMPORT = re.compile(r"@import")
_CSS_SET_STRING = re.compile(r"image-set\(([^)]*)\)")


def _parser() -> html5lib.HTMLParser:
    return html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=True)


def trees(body: str) -> list[ElementTree.Element]:
    """The body as a browser builds it with scripting on, and with it off."""
    return [_parser().parseFragment(body, container="div", scripting=s) for s in (True, False)]


def _local(name: str) -> str:
    """``{namespace}local`` -> ``local`` (lower case); ``xlink:href`` keeps its prefix."""
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ("xlink:" + local if ns.endswith("/xlink") else local).lower()
    return name.lower()


def url_scheme_bad(value: str) -> bool:
    """Is this URL anything but http(s) or relative, as a browser's URL parser reads it?"""
    probe = _TAB_NEWLINE.sub("", value.strip(_STRIP))
    m = _SCHEME.match(probe)
    return m is not None and m.group(1).lower() not in ("http", "https")


def _host_ok(url: str) -> bool:
    url = _TAB_NEWLINE.sub("", url.strip(_STRIP)).replace("\\", "/")
    if not url:
        return True
    if url_scheme_bad(url):
        return False
    if not url.startswith("//") and not _SCHEME.match(url):
        return True  # relative: the article's own (Sina) host
    host = (urlsplit(url if _SCHEME.match(url) else "https:" + url).hostname or "").rstrip(".")
    return any(host == h or host.endswith("." + h) for h in SAME_SITE)


def _css_decode(css: str) -> str:
    def one(m: re.Match[str]) -> str:
        token = m.group(1)
        if token == "\n":
            return ""
        if re.fullmatch(r"[0-9a-fA-F]{1,6}\s?", token):
            code = int(token.strip(), 16)
            return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"
        return token

    return _CSS_ESCAPE.sub(one, _CSS_COMMENT.sub("", css)).lower()


def css_problems(css: str) -> list[str]:
    """Why this CSS runs or loads something from another host ([] when it does not)."""
    if not css:
        return []
    text = _css_decode(css)
    squeezed = re.sub(r"\s+", "", text)
    found = [f"CSS {word!r}" for word in _CSS_RUNS if word in text or word in squeezed]
    if _CSS_IMPORT.search(text):
        found.append("CSS @import")
    for m in _CSS_LOADS.finditer(text):
        if not _host_ok(m.group(2).strip()):
            found.append(f"CSS {m.group(1)}({m.group(2)[:40]!r}) from another host")
    for m in _CSS_SET_STRING.finditer(text):
        for q in re.findall(r"['\"]([^'\"]*)['\"]", m.group(1)):
            if not _host_ok(q):
                found.append(f"CSS image-set {q[:40]!r} from another host")
    return found


def _element_problems(el: ElementTree.Element) -> list[str]:
    tag = _local(el.tag)
    found: list[str] = []
    if tag == "script":
        found.append(f"script element ({el.tag})")
    if tag in ACTIVE_ELEMENTS:
        found.append(f"<{tag}> element")
    attrs = {_local(k): v for k, v in el.attrib.items()}
    if tag == "meta" and "http-equiv" in attrs:
        found.append("<meta http-equiv>")
    if tag == "link":
        rels = set(attrs.get("rel", "").lower().split())
        if rels & LOADING_LINKS or ("href" in attrs and not _host_ok(attrs["href"])):
            found.append(f"<link rel={attrs.get('rel', '')!r}>")
    if tag in ANIMATIONS and attrs.get("attributename", "").strip().lower() in (
        "href", "xlink:href"
    ):  # fmt: skip
        found.append(f"<{tag}> aimed at {attrs['attributename']}")
    for name, value in attrs.items():
        if name.startswith("on") or name in ("srcdoc", "formaction"):
            found.append(f"{name}= on <{tag}>")
        if (name in URL_ATTRIBUTES or name.endswith(":href")) and url_scheme_bad(value):
            found.append(f"{name}={value[:40]!r} on <{tag}>")
        if name in URL_LIST_ATTRIBUTES and any(
            url_scheme_bad(t) for t in re.split(r"[\s,]+", value) if t
        ):
            found.append(f"{name}={value[:40]!r} on <{tag}>")
        if name == "style":
            found += [f"{p} in style= on <{tag}>" for p in css_problems(value)]
    if tag == "style":
        found += [f"{p} in <style>" for p in css_problems("".join(el.itertext()))]
    return found


def problems(body: str) -> list[str]:
    """Everything that would run or load in ``body`` in a browser, scripting on or off
    (each found once, prefixed by the mode that found it only when the other did not)."""
    per_mode: list[list[str]] = []
    for root in trees(body):
        found: list[str] = []
        for el in root.iter():
            if isinstance(el.tag, str):  # comments are callables in ElementTree
                found += _element_problems(el)
        per_mode.append(found)
    on, off = per_mode
    both = [p for p in on if p in off]
    return (
        both
        + [f"scripting on: {p}" for p in on if p not in off]
        + [f"scripting off: {p}" for p in off if p not in on]
    )


def is_safe(body: str) -> bool:
    return not problems(body)


_POST_BODY = re.compile(r"\n---\n\n<div>   \n(?P<body>.*)  \n</div>\n {12}\Z", re.DOTALL)


def post_body(text: str) -> str:
    """The body of a post file's text (FORMAT.md "The bytes of a post")."""
    m = _POST_BODY.search(text)
    if m is None:
        raise ValueError("not a post: the body template is not there")
    return m.group("body")


__all__ = ["css_problems", "is_safe", "post_body", "problems", "trees", "url_scheme_bad"]
