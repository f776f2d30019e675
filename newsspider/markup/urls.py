"""URL resolution the way a browser does it (WHATWG URL), which is what the archive holds.

RSSHub wrote ``new URL(href, link).href``; Python's ``urljoin`` differs in small, visible ways
(``http://host`` stays without its ``/``, spaces and non-ASCII stay raw), so posts would not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from w3lib.url import safe_url_string

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
    """https, no query string, no fragment (FORMAT.md "Article identity").

    The host is the one the downloader connects to (:func:`fetch_target`): no userinfo, no
    trailing dot, no default port, percent-escapes and IDNA resolved, so that two spellings of
    one page are one article, and the URL requested is the URL judged."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = "https" if parts.scheme in ("http", "https", "") else parts.scheme
    netloc = parts.netloc.lower()
    if scheme == "https" and (
        "\\" in url
        or not url.isascii()
        or netloc.endswith(".")
        or "@" in netloc
        or "%" in netloc
        or ":" in netloc
        or "[" in netloc
    ):  # a spelling the downloader normalises: judge (and key) what it will request
        target = fetch_target(url if parts.scheme else "https://" + url.lstrip("/"))
        if target is not None:
            netloc = target.netloc
            parts = urlsplit(target.url)  # the path as the request will carry it
    return f"{scheme}://{netloc}{parts.path or '/'}"


# --- same-site: where a request really goes --------------------------------------------------

#: Sina's article hosts: an article URL (roll item, redirect, meta refresh, ``fetch``) on any
#: other host is never requested or archived
SINA_SUFFIXES = (".sina.com.cn", ".sina.cn")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: a host name as DNS takes it (letters, digits, hyphens; dots between labels), after IDNA
_IP_LITERAL = re.compile(r"\[[0-9a-f:.]+\]")
_LDH_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")


@dataclass(frozen=True)
class FetchTarget:
    """Where the downloader connects for a URL: scheme, host, and a non-default port (or
    None), with the URL as Scrapy will request it."""

    scheme: str
    host: str
    port: int | None
    url: str

    @property
    def netloc(self) -> str:
        return self.host + (f":{self.port}" if self.port else "")


def fetch_target(url: str) -> FetchTarget | None:
    """The URL as Scrapy's ``Request`` normalises it (w3lib ``safe_url_string``: tabs and
    newlines dropped, backslashes read as slashes the way browsers read them, IDNA), then the
    host the downloader will resolve: after the userinfo, percent-decoded, lowercased, without
    a trailing dot. None when there is no such host (not http(s), bad port, a host that is no
    DNS name, an IP literal).

    This is the one definition of "where does this URL go" for the crawl: roll items,
    redirects, meta refreshes, fetched URLs and images are all judged by it, so a spelling
    that fools a string test (``https://evil.example.com\\.finance.sina.com.cn/``,
    ``https://finance.sina.com.cn@evil.com/``) cannot reach a host other than the one judged.
    """
    try:
        normalised = safe_url_string(url.strip(_STRIP))
        parts = urlsplit(normalised)
        port = parts.port
    except (ValueError, UnicodeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    raw = parts.netloc.rpartition("@")[2]
    raw = raw.partition("]")[0] + "]" if raw.startswith("[") else raw.partition(":")[0]
    host = unquote(raw).lower()
    if host.endswith("."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not _LDH_HOST.fullmatch(host) and not _IP_LITERAL.fullmatch(host):
        return None
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    return FetchTarget(scheme, host, port, normalised)


def is_sina_host(host: str) -> bool:
    """Is ``host`` (already normalised, or a plain name) one of Sina's article hosts?"""
    host = host.lower().rstrip(".")
    return any(host.endswith(s) for s in SINA_SUFFIXES)


def offsite_host(url: str) -> str | None:
    """None when ``url`` goes to a Sina article host on the default port; otherwise what it
    goes to, for a reason line (``evil.example.com``, ``finance.sina.com.cn:8443``, or the URL's
    start when it names no usable host)."""
    target = fetch_target(url)
    if target is None:
        head = url.strip()[:80]
        return head or "(empty URL)"
    if target.port is not None or not is_sina_host(target.host):
        return target.netloc
    return None
