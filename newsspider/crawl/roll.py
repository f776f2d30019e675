"""The roll API (``feed.mix.sina.com.cn/api/roll/get``) as pure data: parse an answer, vet its
items, read ``--since``/``--until``.

Kept free of Scrapy so that every way the API answers badly can be tested without a crawl; the
``sina`` spider only routes what this module returns.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

from newsspider.markup.urls import SINA_SUFFIXES, canonical_article_url, is_sina_host, offsite_host
from newsspider.pages.base import doc_id_from_url

__all__ = [
    "BEIJING",
    "MAX_NUMBER",
    "SINA_SUFFIXES",
    "RollError",
    "RollItem",
    "RollPage",
    "is_sina_host",
    "parse_roll",
    "parse_when",
    "strip_jsonp",
    "vet_item",
]

BEIJING = timezone(timedelta(hours=8))

#: ``try{fn({...});}catch(e){};`` (the sibling zhibo API's documented JSONP wrapper) or a bare
#: ``fn({...});``: what ``&callback=fn`` returns.
_JSONP = re.compile(
    r"^\s*(?:try\s*\{\s*)?[\w$.]+\s*\(\s*(?P<body>[\[{].*[\]}])\s*\)\s*;?\s*"
    r"(?:\}\s*catch\s*\(\s*\w*\s*\)\s*\{\s*\}\s*;?)?\s*$",
    re.DOTALL,
)


class RollError(ValueError):
    """A roll answer the crawl cannot use at all; ``stat`` names it under ``roll/``."""

    def __init__(self, reason: str, stat: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stat = stat


@dataclass(frozen=True)
class RollItem:
    """One usable list entry: where the article is and what the list says of its times."""

    #: canonical article URL (https, no query, no fragment)
    url: str
    #: Sina doc id from the URL, else from the item's ``docid`` (``comos:XXXX``); may be ""
    doc_id: str
    #: the list's headline: often cut with "...", so only a fallback for a page without one
    title: str
    #: unix seconds (creation, last modification), when the item says
    ctime: int | None
    mtime: int | None

    @property
    def key(self) -> str:
        """The archive index key this item will be stored under (doc id, else URL)."""
        return self.doc_id or self.url


@dataclass
class RollPage:
    """A parsed answer: the good items in list order, and what was wrong with the others."""

    items: list[RollItem]
    #: ``(stat, message)`` per refused item, for a log line and a ``roll/bad_item/<stat>`` stat
    problems: list[tuple[str, str]] = field(default_factory=list)
    #: the list's length as the API reports it (``total``), when it does
    total: int | None = None
    #: entries in ``data`` before vetting (a page of only broken items is not an empty page)
    raw_count: int = 0


def strip_jsonp(text: str) -> str:
    """The JSON inside a JSONP wrapper; the text itself when there is none."""
    m = _JSONP.match(text)
    return m.group("body") if m else text


#: the largest number read as unix seconds or as a count: year 3000. A larger one (``1e300``,
#: ``Infinity``, 40 digits) cannot be a time, and would overflow date arithmetic further on.
MAX_NUMBER = 32_503_680_000


def _unix(value: object) -> int | None:
    """Roll times are unix seconds, as strings or numbers; anything else (a bool, NaN, infinity,
    a number beyond :data:`MAX_NUMBER`, ``"12abc"``) reads as absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 12:
            return None
        value = int(text)
    if isinstance(value, int) and 0 < value <= MAX_NUMBER:
        return value
    return None


def vet_item(raw: object) -> RollItem | tuple[str, str]:
    """A :class:`RollItem`, or ``(stat, message)`` saying why this entry cannot be followed."""
    if not isinstance(raw, dict):
        return "not_object", f"item is a {type(raw).__name__}, not an object"
    url = raw.get("url")
    if url is None or url == "":
        return "no_url", f"item without url (title {raw.get('title')!r})"
    if not isinstance(url, str):
        return "bad_type", f"url is a {type(url).__name__}: {url!r}"
    url = url.strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("javascript", "vbscript", "data"):
        return "bad_scheme", f"{scheme}: URL {url[:80]!r}"
    if url.startswith("//"):
        url = "https:" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return "bad_scheme", f"not an http(s) URL: {url[:80]!r}"
    # judged where the downloader would really go (backslashes, userinfo, IDNA, ports...)
    offsite = offsite_host(url)
    if offsite is not None:
        return "foreign_host", f"not a Sina article host ({offsite[:80]}): {url[:120]!r}"
    title = raw.get("title")
    for name in ("ctime", "mtime"):
        v = raw.get(name)
        if v not in (None, "") and _unix(v) is None:
            return "bad_type", f"{name} is not unix seconds: {v!r} ({url})"
    canonical = canonical_article_url(url)
    doc_id = doc_id_from_url(canonical)
    if not doc_id and isinstance(raw.get("docid"), str):
        docid = raw["docid"].strip()
        doc_id = docid.split(":", 1)[1] if docid.startswith("comos:") else ""
    return RollItem(
        url=canonical,
        doc_id=doc_id,
        title=title if isinstance(title, str) else "",
        ctime=_unix(raw.get("ctime")),
        mtime=_unix(raw.get("mtime")),
    )


def parse_roll(body: bytes | str) -> RollPage:
    """Read one roll answer. Raises :class:`RollError` when the whole answer is unusable (not
    JSON, ``status.code`` not 0, no ``data`` list); an empty list is a valid, empty page."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = body.decode("gb18030", "replace")
    else:
        text = body
    if not text.strip():
        raise RollError("empty answer (no body)", "empty_body")
    try:
        data = json.loads(strip_jsonp(text))
    except json.JSONDecodeError as exc:
        head = " ".join(text[:60].split())
        raise RollError(f"not JSON ({exc.msg} at {exc.pos}; starts {head!r})", "not_json") from None
    except RecursionError:  # [[[[...]]]] thousands deep: the json module recurses
        raise RollError("JSON nested too deep to read", "not_json") from None
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise RollError("no 'result' object in the answer", "bad_shape")
    status = result.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    if str(code) != "0":
        msg = status.get("msg") if isinstance(status, dict) else None
        raise RollError(f"result.status.code is {code!r} (msg {msg!r}), not 0", "bad_status")
    items = result.get("data")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise RollError(f"result.data is a {type(items).__name__}, not a list", "bad_shape")
    page = RollPage(items=[], total=_unix(result.get("total")), raw_count=len(items))
    for raw in items:
        vetted = vet_item(raw)
        if isinstance(vetted, RollItem):
            page.items.append(vetted)
        else:
            page.problems.append(vetted)
    return page


def parse_when(text: str, *, end: bool = False) -> datetime:
    """``--since``/``--until``: an ISO date or date-time, Beijing time unless it has an offset.

    A bare date means the start of that day, or with ``end`` (``--until``) its last second, so
    ``--until 2024-05-10`` includes the whole of that day.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty date")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = date.fromisoformat(value)
        start = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
        return start + timedelta(days=1, seconds=-1) if end else start
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO date or date-time (2024-05-10, 2024-05-10T08:00, "
            "2024-05-10 08:00+08:00)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=BEIJING)
