"""A post body's plain text, as the index stores it for full-text search and export.

Not a reader of posts (:mod:`newsspider.archive.postread` finds the body in a post): this turns
body HTML into the text a search matches, one line per block.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


_ATTRS = r"""(?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))?)*"""
#: markup of the plain shapes the archive's bodies are made of, for which :class:`HTMLParser`
#: does nothing but call the handlers: a script or style element without ``<`` inside (groups 1
#: and 2: the names at its start and end), a start tag (name, then attributes each with a quoted
#: value free of ``<`` and ``>``, or none; groups 3 and 4: its name, "/" if self-closing), an end
#: tag (group 5: its name), or a comment without ``--`` inside, not starting with ``>`` or ``->``
#: (no group; every Python version's parser ends it at the first ``-->``)
_PLAIN_TAG = re.compile(
    rf"<(?:((?i:script|style)){_ATTRS}\s*>[^<]*</((?i:script|style))\s*"
    rf"|([a-zA-Z][a-zA-Z0-9]*){_ATTRS}\s*(/?)"
    r"|/([a-zA-Z][a-zA-Z0-9]*)\s*"
    r"|!--(?![->])(?:[^-]|-(?!-))*--)>"
)
_CDATA = frozenset({"script", "style"})


def _plain_parts(body: str) -> list[str] | None:
    """What :class:`_TextParser` collects from ``body``, when every ``<`` in it opens markup of
    :data:`_PLAIN_TAG`'s shapes; otherwise ``None``.

    Between such tags :class:`HTMLParser` (``convert_charrefs``) hands over the text as
    :func:`html.unescape` gives it, chunk by chunk; this does the same in a fraction of the time.
    """
    pieces = _PLAIN_TAG.split(body)  # text, then the 5 groups of a match, text, ...
    parts: list[str] = []
    skip = 0
    for i in range(0, len(pieces), 6):
        chunk = pieces[i]
        if chunk and not skip:
            if "<" in chunk:
                return None
            parts.append(unescape(chunk) if "&" in chunk else chunk)
        elif chunk and "<" in chunk:
            return None
        if i + 1 >= len(pieces):
            break
        cdata, cdata_end, start, close, end = pieces[i + 1 : i + 6]
        if start:
            tag = start.lower()
            if tag in _SKIP_TAGS:
                if tag in _CDATA and not close:  # its content is not markup: not handled here
                    return None
                if not close:
                    skip += 1
            elif tag in _BLOCK_TAGS:
                parts.append("\n")
        elif end:
            tag = end.lower()
            if tag in _SKIP_TAGS:
                skip = max(0, skip - 1)
            elif tag in _BLOCK_TAGS:
                parts.append("\n")
        elif cdata and cdata.lower() != cdata_end.lower():
            return None  # <style>…</script>: the element goes on
    return parts


def _parser_parts(body: str) -> list[str]:
    parser = _TextParser()
    parser.feed(body)
    parser.close()
    return parser.parts


def html_text(body: str) -> str:
    """The body's plain text: one line per block, whitespace runs collapsed, blank lines gone.

    Block boundaries become line breaks so that a phrase never matches across two paragraphs
    and snippets read like the article.
    """
    parts = _plain_parts(body)
    if parts is None:
        parts = _parser_parts(body)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)
