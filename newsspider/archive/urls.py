"""URL resolution the way a browser does it (WHATWG URL), which is what the archive holds.

RSSHub wrote ``new URL(href, link).href``; Python's ``urljoin`` differs in small, visible ways
(``http://host`` stays without its ``/``, spaces and non-ASCII stay raw), so posts would not match.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

_SPECIAL = {"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443", "file": ""}
_STRIP = "".join(chr(c) for c in range(0x21))
_TAB_NL = re.compile(r"[\t\n\r]")
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")

_C0 = {chr(c) for c in range(0x20)} | {"\x7f"}
_FRAGMENT_SET = _C0 | set(' "<>`')
_QUERY_SET = _C0 | set(" \"#<>'")
_PATH_SET = _FRAGMENT_SET | set("#?{}")
_USERINFO_SET = _PATH_SET | set("/:;=@[\\]^|")


def _encode(part: str, unsafe: set[str]) -> str:
    if part.isascii() and not any(ch in unsafe for ch in part):
        return part
    out = []
    for ch in part:
        if ch in unsafe or ord(ch) > 0x7E:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
    return "".join(out)


def _host(host: str) -> str:
    host = host.lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return _encode(host, _C0)


def resolve_url(href: str, base: str) -> str:
    """``new URL(href, base).href`` for the URLs Sina pages hold."""
    url = _TAB_NL.sub("", href.strip(_STRIP))
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme and re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme) and scheme not in _SPECIAL:
        return url  # mailto:, javascript: ... are opaque: left as they are
    if scheme in _SPECIAL or not scheme or url.startswith(("/", "\\", "?", "#", ".")):
        url = url.replace("\\", "/") if scheme in _SPECIAL or not scheme else url
    try:
        joined = urljoin(base, url)
        parts = urlsplit(joined)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _SPECIAL:
        return joined
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    host, _, port = hostport.partition(":") if not hostport.startswith("[") else (hostport, "", "")
    if port == _SPECIAL[scheme]:
        port = ""
    netloc = (_encode(userinfo, _USERINFO_SET) + "@" if userinfo else "") + _host(host)
    if port:
        netloc += ":" + port
    path = _encode(parts.path or "/", _PATH_SET)
    out = f"{scheme}://{netloc}{path}"
    if parts.query or joined.rstrip("#").endswith("?") or "?" in joined.split("#", 1)[0]:
        out += "?" + _encode(parts.query, _QUERY_SET)
    if "#" in joined:
        out += "#" + _encode(parts.fragment, _FRAGMENT_SET)
    return out


def canonical_article_url(url: str) -> str:
    """https, no query string, no fragment (FORMAT.md "Article identity")."""
    parts = urlsplit(url.strip())
    scheme = "https" if parts.scheme in ("http", "https", "") else parts.scheme
    return f"{scheme}://{parts.netloc.lower()}{parts.path or '/'}"
