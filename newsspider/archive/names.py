"""Where things go on disk: post file names and image paths (FORMAT.md "File name", "Images")."""

from __future__ import annotations

import hashlib
import posixpath
import re
from urllib.parse import unquote, urlsplit

from newsspider.archive.post import normalize_title

_TO_UNDERSCORE = str.maketrans({c: "_" for c in ":/\\?*“”<>|[]"})
_DROPPED = str.maketrans({c: None for c in ".#\r\n"})
MAX_NAME_BYTES = 200
#: the longest file name (one path component) ext4, XFS, Btrfs, APFS and NTFS all take, in bytes
MAX_FILE_NAME_BYTES = 255
POST_EXTENSION = ".md"
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
    return name or safe_id(doc_id)


#: what a doc id may look like to be used in a file name as it is
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def safe_id(doc_id: str) -> str:
    """``doc_id`` when it is letters and digits (every Sina doc id is); anything else (a page's
    ``publishid`` may say ``../../x``) is replaced by its hash, so that no id ever adds a path
    separator, a dot name or a control character to a file name. "" stays "" (no id)."""
    if not doc_id or _SAFE_ID.fullmatch(doc_id):
        return doc_id
    return hashlib.sha1(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def original_stem(title: str) -> str:
    """The original generator's name (its two steps only, no fixes): how posts in an imported
    archive were named, so a crawl can recognise a post whose title began with ``“`` or ``:``."""
    return title.translate(_TO_UNDERSCORE).translate(_DROPPED)


def with_suffix(stem: str, doc_id: str) -> str:
    """``stem (DOCID)``, the name of the second article with one title (FORMAT.md "File
    name"). The title part is cut, at a character boundary, so that the whole file name with
    ``.md`` stays within :data:`MAX_FILE_NAME_BYTES` bytes of UTF-8: a 200-byte title with a
    long doc id would otherwise make a name no file system takes (ENAMETOOLONG on every run)."""
    tail = f" ({safe_id(doc_id)})"
    room = MAX_FILE_NAME_BYTES - len((tail + POST_EXTENSION).encode("utf-8"))
    return cut_utf8(stem, room).rstrip() + tail


def post_file_name(stem: str) -> str:
    """``stem.md``, cut (at a character boundary) to :data:`MAX_FILE_NAME_BYTES` bytes if a
    stem ever came longer (the rules keep it at :data:`MAX_NAME_BYTES`: a safety net)."""
    room = MAX_FILE_NAME_BYTES - len(POST_EXTENSION)
    return cut_utf8(stem, room).rstrip() + POST_EXTENSION


#: Pillow format -> extension. MPO is a JPEG with extra pictures appended (some cameras'
#: pictures); it is a JPEG to every browser.
IMAGE_EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
#: what may stay in a path segment: the characters a URL path may hold unescaped (``%`` excluded:
#: a literal one would read as an escape in the ``/images/...`` link), and non-ASCII from U+00A0
#: on (C1 controls excluded). Braces, quotes, ``#``, ``?``, backslashes and controls become ``_``.
_SEGMENT_SAFE = re.compile(r"[^\w\-.~!$&'()+,;=@\u00a0-\U0010ffff]")


def _safe_segment(seg: str, suffix: str = "") -> str:
    """One path component Hexo serves: safe characters, no leading ``_``/``.`` (Hexo would skip
    it), never ``.``/``..``, at most :data:`MAX_NAME_BYTES` bytes with ``suffix`` (the hash and
    extension) kept whole when the name is cut."""
    seg = _SEGMENT_SAFE.sub("_", seg)
    if seg in ("", ".", "..") and not suffix:
        seg = "-" + seg.replace(".", "_")
    if (seg + suffix).startswith(("_", ".")):
        seg = "-" + seg
    return cut_utf8(seg, MAX_NAME_BYTES - len(suffix.encode("utf-8"))) + suffix


def url_hash(url: str) -> str:
    """The first 8 hex digits of the SHA-1 of the whole URL (FORMAT.md "Images")."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]


def image_extension(fmt: str) -> str:
    """``.jpg`` for ``JPEG``...; a format outside the table keeps its own name in lower case."""
    return IMAGE_EXTENSIONS.get(fmt.upper(), "." + re.sub(r"[^a-z0-9]", "", fmt.lower()))


def image_path(url: str, fmt: str, *, force_hash: bool = False) -> str:
    """``images/<host>/<path>`` with the detected format's extension, relative to the output.

    FORMAT.md "Images": the URL's own extension is replaced by the format's; a query string (or
    ``force_hash``, for the later of two URLs that meet at one path) adds ``-<sha1[:8]>`` before
    the extension; segments starting with ``_``/``.`` get a ``-`` in front. The path never leaves
    ``images/``: segments are split after percent-decoding (so ``%2F`` cannot smuggle a ``/``
    past the split), and ``.``/``..``/empty segments are neutralised, not resolved. The port is
    not part of the path; two URLs that differ only there meet and the collision rule applies.
    """
    parts = urlsplit(url)
    host = _safe_segment((parts.hostname or "unknown-host").lower().rstrip("."))
    segments = [s for s in unquote(parts.path).split("/") if s != ""]
    if not segments:
        segments = ["index"]
    *dirs, last = segments
    stem, _ext = posixpath.splitext(last)
    stem = stem or last
    suffix = image_extension(fmt)
    if parts.query or force_hash:
        suffix = "-" + url_hash(url) + suffix
    safe = [host, *(_safe_segment(d) for d in dirs), _safe_segment(stem, suffix)]
    return "images/" + "/".join(safe)
