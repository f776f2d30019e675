"""A re-skin, as Sina does one: every ``id`` and ``class`` value renamed, nothing else touched.

Why: the page objects know each skin by its ids and classes; a redesign renames them while the
text, the ``<title>`` and the meta tags (which feed crawlers, search engines and Weibo read) stay.
:func:`reskin` produces that page from a saved one, so the generic extractor is tested on what a
new skin looks like without waiting for Sina to make one.

The renaming works on the raw bytes (so a GB2312 page stays GB2312 and every byte outside the
renamed values is the page's own): every start tag except ``<meta>`` has each of its ``id`` and
``class`` values replaced, token by token, by a name derived from the old one (one old name, one
new name, on every page: ``artibody`` becomes the same ``s…`` name wherever it occurs).
"""

from __future__ import annotations

import hashlib
import re

#: what the scan steps over (comments, scripts, styles: their text is no markup, and a script's
#: ``"<meta ..."`` string would otherwise open a "tag" running to some later ``>``), and a start
#: tag, whose quoted values may hold ``>`` and ``<``
_TOKEN = re.compile(
    rb"<!--.*?(?:-->|\Z)"
    rb"|<(script|style)\b((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)>.*?(?:</\1\s*>|\Z)"
    rb"|<([A-Za-z][A-Za-z0-9]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.DOTALL | re.IGNORECASE,
)
_ATTR = re.compile(
    rb"""(?<=[\s"'/])(id|class)(\s*=\s*)("[^"]*"|'[^']*'|[^\s"'>]+)""", re.IGNORECASE
)


def new_name(old: str) -> str:
    """The renamed value of one id or class token: stable, and unlike any Sina name."""
    return "s" + hashlib.sha1(old.encode("utf-8", "surrogateescape")).hexdigest()[:10]


def _rename_value(raw: bytes) -> bytes:
    quote = raw[:1] if raw[:1] in (b'"', b"'") else b""
    inner = raw[1:-1] if quote else raw
    tokens = inner.decode("latin-1").split()
    renamed = " ".join(new_name(t) for t in tokens)
    return quote + renamed.encode("latin-1") + quote


def _renamed(attrs: bytes) -> bytes:
    return _ATTR.sub(lambda a: a.group(1) + a.group(2) + _rename_value(a.group(3)), attrs)


def _rename_tag(m: re.Match[bytes]) -> bytes:
    if m.group(1) is not None:  # a script or style: its start tag renamed, its text kept
        whole = m.group(0)
        head = 1 + len(m.group(1)) + len(m.group(2))
        return whole[: 1 + len(m.group(1))] + _renamed(m.group(2)) + whole[head:]
    tag = m.group(3)
    if tag is None or tag.lower() == b"meta":
        return m.group(0)  # a comment; or a meta tag, left as it is
    return b"<" + tag + _renamed(m.group(4)) + b">"


def reskin(page: bytes) -> bytes:
    """The page with every id and class value renamed consistently (see the module doc)."""
    return _TOKEN.sub(_rename_tag, page)
