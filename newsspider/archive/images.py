"""Downloaded images on disk and in the index (FORMAT.md "Images"), without Scrapy.

The Scrapy pipeline (:mod:`newsspider.crawl.images`) fetches; everything that decides what a
download *is* lives here, so ``relink`` and the tests use the same rules: which hosts are allowed,
whether some bytes are an image worth keeping, which path a URL gets (and keeps), and how the file
lands on disk (atomically, never outside ``<output>/images/``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import posixpath
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from os import PathLike
from pathlib import Path
from typing import Any

from PIL import Image, ImageSequence, UnidentifiedImageError

from newsspider.archive.index import Index, atomic_write, finish_temp, write_temp
from newsspider.archive.names import image_extension, image_path, url_hash
from newsspider.markup.urls import fetch_target

#: Sina's image and article hosts (FORMAT.md: "Sina's image and article hosts by default")
DEFAULT_IMAGE_HOSTS = ("*.sinaimg.cn", "*.sina.com.cn", "*.sina.cn", "*.sinajs.cn")
#: the formats kept; others are refused before Pillow decodes anything (less attack surface).
#: Pillow's JPEG opener also returns MPO images (a JPEG with extra pictures), kept as JPEG.
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
#: an animation may decode at most this many times max_pixels over all its frames
FRAME_BUDGET = 10
IMAGES_DIR = "images"


class ImageRejected(ValueError):
    """Bytes that are not kept as an image. ``reason`` is a short slug (stats, index, posts'
    ``failed_images``); ``detail`` says what exactly, for the log line."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def host_allowed(url: str, patterns: Iterable[str]) -> bool:
    """Is ``url`` an http(s) URL on an allowed host? ``*.example.com`` allows the domain and every
    subdomain; anything else must match the host exactly. Ports are not considered."""
    # the host the downloader will really connect to (backslashes, userinfo, IDNA, percent
    # escapes: markup/urls.py fetch_target), not what a string split of the URL says
    target = fetch_target(url)
    if target is None:
        return False
    host = target.host
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if not pattern:
            continue
        if pattern.startswith("*.") and host == pattern[2:]:
            return True
        if fnmatch.fnmatchcase(host, pattern):
            return True
    return False


@dataclass(frozen=True)
class ImageInfo:
    """What Pillow found in bytes that passed every check."""

    format: str
    width: int
    height: int
    frames: int


def _looks_like_svg(data: bytes, content_type: str) -> bool:
    if "svg" in content_type.lower():
        return True
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n\f").lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg", b"<!--")) and b"<svg" in head


def inspect_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    content_type: str = "",
) -> ImageInfo:
    """Decode ``data`` fully (every frame) and say what it is, or raise :class:`ImageRejected`:
    what :func:`sniff_image` checks, then what :func:`decode_image` does, in one pass.

    Decoding, not just reading the header, is what catches a truncated JPEG, which otherwise
    shows as a half-grey picture forever. The crawl runs the two halves apart for a large
    image: the sniff on the engine's thread (it decides the image's path, claimed in the order
    the images come), the decode on a worker thread (Pillow lets go of the GIL meanwhile).
    """
    return _inspect(data, max_bytes, max_pixels, content_type, decode=True)


def _open_formats(data: bytes) -> Any:
    return Image.open(BytesIO(data), formats=list(ACCEPTED_FORMATS))


def _rejected(exc: BaseException) -> ImageRejected:
    """The refusal for what Pillow raised."""
    if isinstance(exc, UnidentifiedImageError):
        return ImageRejected("not-an-image", "not a JPEG, PNG, GIF or WebP image")
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageRejected("too-many-pixels", str(exc))
    return ImageRejected("corrupt", str(exc) or type(exc).__name__)


#: what Pillow raises for bytes it cannot take
_PILLOW_ERRORS = (UnidentifiedImageError, Image.DecompressionBombError,
                  Image.DecompressionBombWarning, OSError, SyntaxError, ValueError, EOFError,
                  IndexError, MemoryError)  # fmt: skip


def sniff_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    content_type: str = "",
) -> ImageInfo:
    """What ``data``'s header says it is, every cap checked before anything is decoded (so a
    decompression bomb costs nothing), or :class:`ImageRejected`."""
    return _inspect(data, max_bytes, max_pixels, content_type, decode=False)


def _inspect(data: bytes, max_bytes: int, max_pixels: int, content_type: str, *,
             decode: bool) -> ImageInfo:  # fmt: skip
    """The checks, and with ``decode`` the full decode, with one ``Image.open``. Pillow's own
    bomb check (``Image.MAX_IMAGE_PIXELS``) is a backstop whose warning is turned into a
    refusal for this call only (``catch_warnings`` restores the filters; Pillow's globals are
    not touched). Main thread only (``catch_warnings`` is process-wide)."""
    if not data:
        raise ImageRejected("empty", "0 bytes")
    if len(data) > max_bytes:
        raise ImageRejected("too-large", f"{len(data)} bytes, the cap is {max_bytes}")
    if _looks_like_svg(data, content_type):
        raise ImageRejected("svg", "SVG is not kept (it can carry scripts)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _open_formats(data) as img:
                fmt = "JPEG" if img.format == "MPO" else str(img.format)
                width, height = img.size
                if width * height > max_pixels:
                    raise ImageRejected(
                        "too-many-pixels", f"{width}x{height}, the cap is {max_pixels} pixels"
                    )
                if width <= 2 and height <= 2:
                    raise ImageRejected("tracking-pixel", f"{width}x{height}")
                frames = int(getattr(img, "n_frames", 1))
                if frames * width * height > FRAME_BUDGET * max_pixels:
                    raise ImageRejected("too-many-pixels", f"{frames} frames of {width}x{height}")
                if decode:
                    _load_frames(img)
    except ImageRejected:
        raise
    except _PILLOW_ERRORS as exc:
        raise _rejected(exc) from exc
    return ImageInfo(fmt, width, height, frames)


def _load_frames(img: Any) -> None:
    if img.format == "JPEG":
        # libjpeg's DCT scaling: every entropy-coded byte is still decoded (a cut or corrupt
        # stream fails exactly as at full size), but the inverse DCT and colour conversion run
        # on an eighth of the pixels: 2-3x faster
        width, height = img.size
        img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
    for frame in ImageSequence.Iterator(img):
        frame.load()


def decode_image(data: bytes) -> None:
    """Decode every frame of bytes :func:`sniff_image` passed, or raise :class:`ImageRejected`
    (a cut or corrupt stream). Thread-safe: it touches nothing but ``data`` (no
    ``catch_warnings``: the sniff has refused what is over the cap already)."""
    try:
        with _open_formats(data) as img:
            _load_frames(img)
    except _PILLOW_ERRORS as exc:
        raise _rejected(exc) from exc


@dataclass
class ImageRow:
    """One row of the ``images`` table."""

    url: str
    path: str | None = None
    status: str = "pending"
    attempts: int = 0
    reason: str = ""
    bytes: int = 0
    format: str = ""


class ImageTable:
    """The persistent URL -> path map and download state, in the archive index.

    The path of a URL is claimed once, under a UNIQUE constraint on its lower-cased form, so two
    URLs never share a file, not even on a case-insensitive file system, and not even when two
    processes (a crawl and a ``fetch``) claim at the same moment: the later URL gets the hash
    suffix (FORMAT.md), then, if that too is taken, the whole SHA-1.
    """

    def __init__(self, index: Index) -> None:
        self.index = index
        self.db = index.db
        self.root = index.state.parent

    def get(self, url: str) -> ImageRow | None:
        row = self.db.execute(
            "SELECT url, path, status, attempts, reason, bytes, format FROM images WHERE url = ?",
            (url,),
        ).fetchone()
        return ImageRow(*row) if row else None

    def rows(self, urls: Iterable[str]) -> dict[str, ImageRow]:
        found: dict[str, ImageRow] = {}
        for url in dict.fromkeys(urls):
            row = self.get(url)
            if row is not None:
                found[url] = row
        return found

    def by_path(self, path: str) -> ImageRow | None:
        row = self.db.execute(
            "SELECT url, path, status, attempts, reason, bytes, format FROM images "
            "WHERE path_key = ?",
            (path.lower(),),
        ).fetchone()
        return ImageRow(*row) if row else None

    def on_disk(self, row: ImageRow | None) -> bool:
        """Is this a downloaded image whose file is still there?"""
        return bool(row and row.status == "ok" and row.path and (self.root / row.path).is_file())

    def _path_free(self, url: str, path: str) -> bool:
        holder = self.by_path(path)
        if holder is not None:
            return holder.url == url
        # a file or folder nobody claimed (a user's, or a lost index's): do not overwrite it
        return not (self.root / path).exists()

    def claim(self, url: str, fmt: str) -> str:
        """The path of ``url``: the one it already has, else the first free one of the plain
        path, the hash-suffixed path and a full-SHA-1 name, recorded before anything is written."""
        row = self.get(url)
        if row is not None and row.path:
            return row.path
        plain = image_path(url, fmt)
        tried: set[str] = set()
        for candidate in _candidates(url, fmt, plain):
            if candidate in tried:
                continue
            tried.add(candidate)
            if not self._path_free(url, candidate):
                continue
            try:
                done = self.index.write(
                    "INSERT INTO images (url, path, path_key, updated) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(url) DO UPDATE SET path = excluded.path, "
                    "path_key = excluded.path_key WHERE images.path IS NULL",
                    (url, candidate, candidate.lower(), _now()),
                )
            except sqlite3.IntegrityError:
                continue  # another URL took it between the check and the insert
            if done.rowcount == 1:
                return candidate  # this URL's row holds it now
            row = self.get(url)
            if row is not None and row.path:
                return row.path
        raise ImageRejected("cannot-store", f"no free path for {url} (tried {plain})")

    def mark_ok(self, url: str, *, nbytes: int, fmt: str) -> None:
        self.index.write(
            "UPDATE images SET status = 'ok', reason = '', bytes = ?, format = ?, updated = ? "
            "WHERE url = ?",
            (nbytes, fmt, _now(), url),
        )
        self._journal(url)

    def release(self, url: str, path: str) -> None:
        """Give back a path claimed for bytes that then failed their decode (as if it had not
        been claimed: a path is claimed for an image that is kept)."""
        self.index.write(
            "UPDATE images SET path = NULL, path_key = NULL WHERE url = ? AND path = ? "
            "AND status != 'ok'",
            (url, path),
        )

    def mark_failed(self, url: str, reason: str) -> int:
        """Count one failed attempt; returns the attempts so far."""
        self.index.write(
            "INSERT INTO images (url, status, attempts, reason, updated) "
            "VALUES (?, 'failed', 1, ?, ?) ON CONFLICT(url) DO UPDATE SET status = 'failed', "
            "attempts = images.attempts + 1, reason = excluded.reason, updated = excluded.updated",
            (url, reason, _now()),
        )
        self._journal(url)
        row = self.get(url)
        return row.attempts if row else 1

    def _journal(self, url: str) -> None:
        row = self.get(url)
        if row is not None:
            self.index.journal({"table": "images", **row.__dict__})

    def local_paths(self, urls: Iterable[str]) -> dict[str, str]:
        """URL -> relative path of every one of ``urls`` that is downloaded and on disk."""
        return {u: r.path for u, r in self.rows(urls).items() if self.on_disk(r) and r.path}


def _candidates(url: str, fmt: str, plain: str) -> Iterator[str]:
    """The paths :meth:`ImageTable.claim` tries, in order, each made only when the one before
    it is taken (nearly always the first is free: the others cost a hash and a name each)."""
    yield plain
    hashed = image_path(url, fmt, force_hash=True)
    yield hashed
    # last resort, for the (astronomically rare) URL whose 8-digit hash path is taken too
    full = f"{posixpath.dirname(hashed)}/-{hashlib.sha1(url.encode('utf-8')).hexdigest()}"
    yield full + image_extension(fmt)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ImageStore:
    """The archive's ``images/`` folder as a Scrapy files store (``persist_file``/``stat_file``,
    the interface of Scrapy's ``FSFilesStore``), without importing Scrapy.

    Scrapy's :class:`~scrapy.pipelines.files.FilesPipeline` builds its ``self.store`` from the
    store URI (``STORE_SCHEMES``) and asks it two things: ``stat_file`` (is the file at this path
    already there? its ``media_to_download`` then skips the download) and ``persist_file``
    (write these bytes at this path). Here the index answers the first (an image is there when
    its row says ``ok`` and its file exists), and the second is the contained atomic write
    (:func:`store_image`) followed by the ``ok`` mark. The path itself is claimed here too
    (:meth:`claim`): it depends on the format of the downloaded bytes, so it is known only
    after the download, and it is recorded in the index before anything is written.

    Built by Scrapy with the URI alone; the pipeline hands it the crawl's index at
    ``open_spider`` (:meth:`open`), as the index is opened per crawl, not per process.
    """

    def __init__(self, basedir: str | PathLike[str]) -> None:
        base = str(basedir)
        self.root = Path(base.split("://", 1)[1] if "://" in base else base)
        self.fsync = False
        self._table: ImageTable | None = None
        #: the folders this run has made and checked (``images/<host>/...`` -> real path)
        self._folders = FolderCache(self.root, IMAGES_DIR)

    def open(self, table: ImageTable, *, fsync: bool = False) -> None:
        self._table, self.fsync = table, fsync

    def close(self) -> None:
        self._table = None

    @property
    def table(self) -> ImageTable:
        if self._table is None:
            raise RuntimeError("the image store is used before the crawl opened it")
        return self._table

    def path_of(self, url: str) -> str:
        """The path ``url`` has claimed, or ``""`` before its first good download."""
        row = self.table.get(url)
        return row.path if row is not None and row.path else ""

    def claim(self, url: str, fmt: str) -> str:
        """The path ``url`` gets for an image of format ``fmt`` (:meth:`ImageTable.claim`)."""
        return self.table.claim(url, fmt)

    def stat_file(self, path: str, info: object) -> dict[str, float]:
        """``{"last_modified": mtime}`` when the image at ``path`` is downloaded and still on
        disk, else ``{}`` (Scrapy then downloads it). No checksum: nothing reads it, and
        computing one would read every image of the archive again on every crawl."""
        row = self.table.by_path(path) if path else None
        if row is None or row.path != path or not self.table.on_disk(row):
            return {}
        try:
            return {"last_modified": (self.root / path).stat().st_mtime}
        except OSError:
            return {}

    def persist_file(
        self,
        path: str,
        buf: BytesIO,
        info: object,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Write the bytes at ``path`` (claimed first) unchanged, atomically, never outside
        ``images/``; then mark the image ``ok``. ``meta["format"]``: what Pillow found."""
        row = self.table.by_path(path)
        if row is None or row.path != path:
            raise ImageRejected("cannot-store", f"{path} is claimed by no image")
        data = buf.getvalue()
        tmp = self.stage(path, data)
        self.finish(row.url, path, tmp, nbytes=len(data), fmt=str((meta or {}).get("format", "")))

    def stage(self, path: str, data: bytes) -> Path:
        """Write ``data`` under a temp name beside ``path`` (contained in ``images/``); the
        temp file's path. Thread-safe: the crawl stages on a worker thread."""
        return write_temp(self._folders.target(path), data, fsync=self.fsync)

    def finish(self, url: str, path: str, tmp: Path, *, nbytes: int, fmt: str) -> None:
        """Rename a staged image into place (its claim committed) and mark it ``ok``."""
        finish_temp(tmp, self._folders.target(path))
        self.table.mark_ok(url, nbytes=nbytes, fmt=fmt)


class FolderCache:
    """Where files of one folder tree go, each folder made and checked once per run.

    Why: resolving every file's path stats each of its components (ten or more per image), and
    making its folder costs a ``mkdir`` or a failed ``open``; a crawl writes thousands of files
    into a few hundred folders. A folder is resolved only once it exists (so a later symlink
    cannot be cached before it is made), and a file name is one plain component: the rename of
    a temp file over it replaces what is there, never writes through a link."""

    def __init__(self, root: Path, top: str,
                 error: Callable[[str], Exception] | None = None) -> None:  # fmt: skip
        self.root = root
        self.top = top
        #: what a refusal raises (``ImageRejected("cannot-store", ...)`` by default)
        self.error = error or (lambda why: ImageRejected("cannot-store", why))
        self._real: dict[str, Path] = {}
        self._lock = threading.Lock()

    def target(self, rel_path: str) -> Path:
        """The real path of ``root/rel_path``, its folder made; :class:`ImageRejected` when it
        would leave ``root/top``."""
        folder, _, name = rel_path.rpartition("/")
        real = self._real.get(folder)
        if real is None:
            real = self._check(folder)
        if not name or name in (".", "..") or "\0" in name:
            raise self.error(f"{rel_path} is not a file name")
        return real / name

    def _check(self, folder: str) -> Path:
        base = _real_dir(self.root / self.top)
        path = self.root / folder
        if "\0" in folder or (not folder.startswith(self.top + "/") and folder != self.top):
            raise self.error(f"{folder} is outside {self.top}")
        resolved = path.resolve()
        if not resolved.is_relative_to(base):
            raise self.error(f"{folder} resolves outside {base}")
        path.mkdir(parents=True, exist_ok=True)
        resolved = path.resolve()  # again, now that it exists: what it really is
        if not resolved.is_relative_to(base):
            raise self.error(f"{folder} resolves outside {base}")
        with self._lock:
            self._real[folder] = resolved
        return resolved


@lru_cache(maxsize=16)
def _real_dir(path: Path) -> Path:
    """``path.resolve()``, once per process: the containment check's base. A folder swapped for
    a symlink later can only make that check refuse (the target then resolves elsewhere),
    never pass a path it should refuse; and a crawl writes thousands of images under one base."""
    return path.resolve()


def store_image(root: Path, rel_path: str, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` unchanged at ``root/rel_path`` atomically (temp file, then rename).

    Refuses any path that resolves outside ``root/images`` (a symlinked folder included): the
    name rules already prevent it, this makes it a checked property rather than a hope.
    """
    base = _real_dir(root / IMAGES_DIR)
    resolved = (root / rel_path).resolve()  # symlinks followed as far as the path exists
    if not resolved.is_relative_to(base) or resolved == base:
        raise ImageRejected("cannot-store", f"{rel_path} resolves outside {base}")
    atomic_write(resolved, data, fsync=fsync)  # makes the folder when it is new
    return resolved


__all__ = [
    "DEFAULT_IMAGE_HOSTS",
    "FolderCache",
    "ImageInfo",
    "ImageRejected",
    "ImageRow",
    "ImageStore",
    "ImageTable",
    "decode_image",
    "host_allowed",
    "inspect_image",
    "sniff_image",
    "store_image",
    "url_hash",
]
