"""One check per option, shared by every command that takes the option.

A value that cannot work is refused here, before a request is made or a file is written, with a
one-line reason (:class:`~newsspider.errors.UsageError`: exit 2). Commands never re-implement
these checks, so ``crawl``, ``schedule``, ``search`` and ``export`` refuse the same channel,
the same dates and the same folders with the same words.

Nothing here imports Scrapy: ``search`` and ``export`` stay fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from newsspider.article import DEFAULT_CHANNEL
from newsspider.errors import UsageError

#: the levels ``--log-level`` takes (Python's, as Scrapy's LOG_LEVEL does)
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def log_level(text: str) -> str:
    """argparse type of ``--log-level``: one of :data:`LOG_LEVELS`, any case."""
    value = text.strip().upper()
    if value not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(LOG_LEVELS)}")
    return value


def log_level_number(name: str) -> int:
    """``"ERROR"`` -> ``logging.ERROR``."""
    return int(logging.getLevelName(name.upper()))


def positive_int(text: str) -> int:
    """argparse type for counts (--pages, --limit, --rounds): a clear message, exit 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def image_prefix(text: str) -> str:
    """argparse type of ``--image-prefix``: an http(s) URL with a host, or a path from the
    site's root (``/``, ``/blog/``). Anything else would be written into every post."""
    value = text.strip()
    if value.startswith("/") and not value.startswith("//") and " " not in value:
        return value
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc and " " not in value:
        if parts.query or parts.fragment:
            raise argparse.ArgumentTypeError(f"{text!r}: a URL prefix takes no ?query or #anchor")
        return value
    raise argparse.ArgumentTypeError(
        f"{text!r} is not an http(s) URL or a path starting with / (like https://cdn.example/ "
        "or /blog/)"
    )


def when(name: str, text: str | None, *, end: bool = False) -> datetime | None:
    """``--since``/``--until`` WHEN (ISO date or date-time, Beijing time unless it has an
    offset); ``end`` reads a bare date as its last second (``--until``)."""
    from newsspider.crawl.roll import parse_when

    if not text:
        return None
    try:
        return parse_when(text, end=end)
    except ValueError as exc:
        raise UsageError(f"--{name}: {exc}") from None


def window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``--since`` and ``--until`` parsed, and refused when ``--since`` is after ``--until``
    (a window that holds nothing is a mistake, not an empty run)."""
    start = when("since", since)
    stop = when("until", until, end=True)
    if start is not None and stop is not None and start > stop:
        raise UsageError(f"--since {since} is after --until {until}: nothing can be in between")
    return start, stop


def since_timestamp(text: str | None) -> int | None:
    """``--since`` as unix seconds (the same reading as ``crawl --since``)."""
    start = when("since", text)
    return None if start is None else int(start.timestamp())


def channels(keys: list[str] | None, channels_file: str | None) -> list[str]:
    """The channel keys, each known to the shipped table or ``--channels FILE``; unknown ones
    are refused with the list of known keys. Duplicates are dropped, order kept."""
    from newsspider.archive.channels import ChannelError, load_channels

    try:
        table = load_channels(channels_file)
    except ChannelError as exc:
        raise UsageError(str(exc)) from exc
    wanted = list(dict.fromkeys(keys or []))
    for key in wanted:
        if key not in table:
            raise UsageError(f"unknown channel {key!r} (known: {', '.join(sorted(table))})")
    return wanted


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def writable_output(path: str | Path, option: str = "--output", *, deep: bool = False) -> Path:
    """An output folder a command will write into: refused when a file stands where it should
    be, it cannot be created or written (read-only, /proc, no permission), or its index is
    damaged (the archive's own checks; ``deep`` adds SQLite's quick_check, for a crawl's
    start). Nothing is created here: a refused command leaves no folder behind."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {folder}: is a file, not a folder")
    if _preflight(folder, deep=deep):
        return folder
    # no archive-level checks available: create it and ask the OS
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"{option} {folder}: cannot create the folder: {_os_reason(exc)}"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):  # also EROFS: a read-only mount
        raise UsageError(f"{option} {folder}: cannot write into it (read-only or no permission)")
    return folder


def existing_archive(path: str | Path, option: str = "--output") -> Path:
    """An output folder a command reads (or relinks): it must exist and hold an archive
    index. Never created: a typo must not leave an empty folder behind."""
    folder = Path(path)
    if not folder.exists():
        raise UsageError(f"{option} {folder}: no such folder, so no archive index")
    if not folder.is_dir():
        raise UsageError(f"{option} {folder}: is a file, not a folder")
    index = folder / ".newsspider" / "index.sqlite3"
    if not index.is_file():
        raise UsageError(f"{option} {folder}: no archive index here ({index} does not exist)")
    _preflight(folder, deep=False)
    return folder


def _preflight(folder: Path, *, deep: bool) -> bool:
    """The archive's own checks (:func:`newsspider.archive.preflight.check_output`: files in
    the way, writability probed, a damaged index); False where that module is missing."""
    try:
        from newsspider.archive.preflight import check_output
    except ImportError:
        return False
    check_output(folder, deep=deep)
    return True


def writable_file(path: str | Path, option: str) -> Path:
    """A file a command will create or replace (``--to``, ``--summary-json``): its folder must
    exist or be creatable and be writable, and the name must not be a folder."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {target}: is a folder; name a file")
    parent = target.parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"{option} {target}: {parent} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option} {target}: cannot create {parent}: {_os_reason(exc)}") from None
    if not os.access(parent, os.W_OK | os.X_OK):  # also EROFS: a read-only mount
        raise UsageError(f"{option} {target}: cannot write into {parent} (read-only or no "
                         "permission)")  # fmt: skip
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"{option} {target}: cannot replace it (read-only or no permission)")
    return target


def feed_targets(targets: list[str] | None) -> None:
    """``-O FILE[:FORMAT]``: each FILE writable before the crawl starts (Scrapy would only
    find out when the first item arrives, after the requests)."""
    for target in targets or []:
        name = target
        if "://" not in target:
            # FILE:FORMAT, as Scrapy reads it: the last colon-separated part names a format
            head, sep, tail = target.rpartition(":")
            if sep and tail and "/" not in tail and "." not in tail:
                name = head
            writable_file(name, "-O")


def settings_pairs(pairs: list[str] | None) -> dict[str, Any]:
    """``-s NAME=VALUE`` words as a dict; a word without ``=`` is refused."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-s {pair}: expected NAME=VALUE")
        out[key.strip()] = value
    return out


def _count(name: str, value: object) -> int | None:
    """``--pages``/``--limit`` (an int from argparse) or ``-a pages=N`` (text): 1 or more, or
    absent (None or "")."""
    if value is None or value == "":
        return None
    try:
        return positive_int(str(value))
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"--{name}: {exc}") from None


def flag(value: object) -> bool:
    """``-a refresh=1`` arrives as text; ``--refresh`` as a bool."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass(frozen=True)
class CrawlArguments:
    """What a channel crawl is asked to do, checked in one place for every way to start it:
    ``newsspider crawl``/``schedule``'s options and ``scrapy crawl sina -a ...``'s arguments
    (Scrapyd's too) get the same checks and the same one-line refusals (:class:`UsageError`)."""

    channels: tuple[str, ...]
    pages: int | None = None
    limit: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    refresh: bool = False
    #: with refresh: re-fetch only the archived articles this page object made (#18)
    template: str = ""

    @classmethod
    def parse(cls, *, channel: str | list[str] | None = None, pages: object = None,
              limit: object = None, since: str | None = "", until: str | None = "",
              refresh: object = False, template: str | None = "",
              channels_file: str | None = None, default_channel: str = DEFAULT_CHANNEL,
              ) -> CrawlArguments:  # fmt: skip
        """``channel``: keys in order (a list, or text with commas or spaces as ``-a channel=``
        gives it); none means ``default_channel``."""
        keys = re.split(r"[,\s]+", channel) if isinstance(channel, str) else list(channel or [])
        start, stop = window(since or None, until or None)
        if template and not flag(refresh):
            raise UsageError("--template NAME needs --refresh (it narrows what is re-fetched)")
        return cls(
            channels=tuple(channels([k for k in keys if k] or [default_channel], channels_file)),
            pages=_count("pages", pages),
            limit=_count("limit", limit),
            since=start,
            until=stop,
            refresh=flag(refresh),
            template=template or "",
        )
