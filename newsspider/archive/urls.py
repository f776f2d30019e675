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
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# WHATWG percent-encode sets (C0 controls and everything above ~ are always encoded)
_FRAGMENT_UNSAFE = re.compile(r'[^\x21-\x7e]|["<>`]')
_QUERY_UNSAFE = re.compile(r"[^\x21-\x7e]|[\"#<>']")
_PATH_UNSAFE = re.compile(r'[^\x21-\x7e]|["#<>?`{}]')
_USERINFO_UNSAFE = re.compile(r'[^\x21-\x7e]|["#<>?`{}/:;=@\[\\\]^|]')
#: already what ``new URL()`` gives: absolute http(s), lowercase host, nothing to encode
_CLEAN_ABSOLUTE = re.compile(
    r"https?://[a-z0-9.-]+(?::\d+)?/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*"
    r"(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@%/?]*)?"
)
_NEEDS_WORK = re.compile(r"/\.\.?(?:/|$|\?)|^http://[^/]*:80/|^https://[^/]*:443/")


def _encode(part: str, unsafe: re.Pattern[str]) -> str:
    return unsafe.sub(
        lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass")), part
    )


def _host(host: str) -> str:
    host = host.lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return _encode(host, _PATH_UNSAFE)


def resolve_url(href: str, base: str) -> str:
    """``new URL(href, base).href`` for the URLs Sina pages hold."""
    url = _TAB_NL.sub("", href.strip(_STRIP))
    if _CLEAN_ABSOLUTE.fullmatch(url) and not _NEEDS_WORK.search(url):
        return url
    if url.startswith("//") and base.startswith(("https:", "http:")):
        # protocol-relative (most Sina image URLs): the base's scheme, then the same test
        absolute = base[: base.index(":") + 1] + url
        if _CLEAN_ABSOLUTE.fullmatch(absolute) and not _NEEDS_WORK.search(absolute):
            return absolute
    m = _SCHEME.match(url)
    if m and m.group(1).lower() not in _SPECIAL:
        return url  # mailto:, javascript: ... are opaque: left as they are
    try:
        joined = urljoin(base, url.replace("\\", "/"))
        parts = urlsplit(joined)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _SPECIAL:
        return joined
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host, _, port = hostport.partition(":") if not hostport.startswith("[") else (hostport, "", "")
    netloc = (_encode(userinfo, _USERINFO_UNSAFE) + "@" if userinfo else "") + _host(host)
    if port and port != _SPECIAL[scheme]:
        netloc += ":" + port
    out = f"{scheme}://{netloc}{_encode(parts.path or '/', _PATH_UNSAFE)}"
    before_fragment, has_fragment, _ = joined.partition("#")
    if "?" in before_fragment:
        out += "?" + _encode(parts.query, _QUERY_UNSAFE)
    if has_fragment:
        out += "#" + _encode(parts.fragment, _FRAGMENT_UNSAFE)
    return out


def canonical_article_url(url: str) -> str:
    """https, no query string, no fragment (FORMAT.md "Article identity")."""
    parts = urlsplit(url.strip())
    scheme = "https" if parts.scheme in ("http", "https", "") else parts.scheme
    return f"{scheme}://{parts.netloc.lower()}{parts.path or '/'}"
