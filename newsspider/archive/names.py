"""Where things go on disk: post file names and image paths (FORMAT.md "File name", "Images")."""

from __future__ import annotations

import hashlib
import posixpath
import re
from urllib.parse import unquote, urlsplit

from newsspider.archive.post import normalize_title

_TO_UNDERSCORE = str.maketrans({c: "_" for c in ':/\\?*“”<>|[]'})
_DROPPED = str.maketrans({c: None for c in ".#\r\n"})
MAX_NAME_BYTES = 200
#: names Windows refuses whatever their extension; an archive is often synced to such machines
_WINDOWS_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$")


def cut_utf8(s: str, limit: int) -> str:
    data = s.encode("utf-8")
    if len(data) <= limit:
        return s
    return data[:limit].decode("utf-8", "ignore")


def name_stem(title: str, doc_id: str) -> str:
    """The file name before any collision suffix and ``.md``.

    The first two steps are the original generator's (so names match the existing archive); the
    rest keep every name one safe path component Hexo will not skip.
    """
    name = title.translate(_TO_UNDERSCORE).translate(_DROPPED)
    name = normalize_title(name).lstrip("_ ")
    name = cut_utf8(name, MAX_NAME_BYTES).rstrip()
    if _WINDOWS_RESERVED.match(name):
        name += "_"
    return name or doc_id


def with_suffix(stem: str, doc_id: str) -> str:
    return f"{stem} ({doc_id})"


IMAGE_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
_SEGMENT_SAFE = re.compile(r"[^\w\-.~!$&'()+,;=@%\u0080-\U0010ffff]")


def _safe_segment(seg: str) -> str:
    seg = _SEGMENT_SAFE.sub("_", seg)
    if seg in ("", ".", ".."):
        seg = "-" + seg.replace(".", "_")
    if seg.startswith(("_", ".")):
        seg = "-" + seg
    return cut_utf8(seg, MAX_NAME_BYTES)


def url_hash(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]


def image_path(url: str, fmt: str, *, force_hash: bool = False) -> str:
    """``images/<host>/<path>`` with the detected format's extension, relative to the output.

    Never leaves ``images/``: ``..`` and empty segments are neutralised, not resolved.
    """
    parts = urlsplit(url)
    host = _safe_segment((parts.hostname or "unknown-host").lower())
    segments = [s for s in unquote(parts.path).split("/") if s not in ("",)]
    if not segments:
        segments = ["index"]
    *dirs, last = segments
    stem, _ext = posixpath.splitext(last)
    stem = stem or last
    if parts.query or force_hash:
        stem += "-" + url_hash(url)
    ext = IMAGE_EXTENSIONS.get(fmt.upper(), "." + fmt.lower())
    safe = [host, *(_safe_segment(d) for d in dirs), _safe_segment(stem + ext)]
    return "images/" + "/".join(safe)
