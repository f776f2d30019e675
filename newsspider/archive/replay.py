"""Saved crawls on disk: read a replay directory, write one while crawling.

The format is specified in ``docs/REPLAY.md``: a ``MANIFEST.tsv`` (UTF-8, tab separated,
header ``url, file, status, content_type``) next to the body files it names. This module is kept
free of Scrapy so that the format can be read, written and tested on its own; the Scrapy glue
lives in :mod:`newsspider.crawl.middlewares`.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import TracebackType

from w3lib.url import canonicalize_url

__all__ = [
    "HEADER",
    "MANIFEST_NAME",
    "REDIRECT_PREFIX",
    "REDIRECT_STATUSES",
    "BodyTooLarge",
    "ManifestError",
    "ManifestRow",
    "RecordDir",
    "ReplayDir",
    "ReplayEntry",
    "body_file_name",
    "extension_for",
    "parse_manifest",
]

MANIFEST_NAME = "MANIFEST.tsv"
HEADER: tuple[str, str, str, str] = ("url", "file", "status", "content_type")
REDIRECT_PREFIX = "->"
REDIRECT_STATUSES: frozenset[int] = frozenset({301, 302, 303, 307, 308})
BODY_DIR = "pages"

# mimetypes answers from the host's tables (/etc/mime.types), which differ between machines;
# recorded file names must not, so the common types are pinned here.
_EXTENSIONS: dict[str, str] = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/css": ".css",
    "text/javascript": ".js",
    "application/javascript": ".js",
    "application/x-javascript": ".js",
    "application/json": ".json",
    "text/xml": ".xml",
    "application/xml": ".xml",
    "application/rss+xml": ".xml",
    "application/atom+xml": ".xml",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/avif": ".avif",
    "image/svg+xml": ".svg",
    "image/bmp": ".bmp",
    "image/x-icon": ".ico",
    "image/vnd.microsoft.icon": ".ico",
    "application/pdf": ".pdf",
    "application/octet-stream": ".bin",
}


class ManifestError(ValueError):
    """A replay directory that cannot be trusted: refused whole, at load time.

    Failing at load time rather than at lookup time means a broken archive stops a crawl before
    its first request instead of quietly answering 404s half-way through.
    """


class BodyTooLarge(ValueError):
    """A stored body over the size cap, found before it was read (``size`` is at least the
    body's size: the file's size, or what was read when it kept growing)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"body of {size} bytes is larger than {limit}")
        self.size = size
        self.limit = limit


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One manifest line, as written; ``file`` is ``""`` for bodiless and redirect rows."""

    url: str
    file: str
    status: int
    content_type: str
    location: str | None = None

    def to_line(self) -> str:
        """Render the row; a redirect's target takes the place of the file, after ``->``."""
        file_field = REDIRECT_PREFIX + self.location if self.location is not None else self.file
        return "\t".join((self.url, file_field, str(self.status), self.content_type))


@dataclass(frozen=True, slots=True)
class ReplayEntry:
    """The stored answer for one URL; the body stays on disk until asked for.

    Holding paths rather than bytes keeps a replay of a large archive at flat memory.
    """

    url: str
    status: int
    content_type: str
    location: str | None
    path: Path | None

    @property
    def headers(self) -> dict[str, str]:
        """The headers the archive knows; nothing else was stored, so nothing else is invented."""
        headers: dict[str, str] = {}
        if self.content_type:
            headers["Content-Type"] = self.content_type
        if self.location is not None:
            headers["Location"] = self.location
        return headers

    def body_size(self) -> int:
        """The body's size from the file system, without reading it: a size cap is checked
        before a byte is read (a 1 GB body is refused from its ``stat``)."""
        return self.path.stat().st_size if self.path is not None else 0

    def read_body(self, limit: int = 0) -> bytes:
        """Read the body from disk now; every call reads afresh, nothing is cached. With a
        ``limit``, a body larger than it raises :class:`BodyTooLarge` before it is read."""
        if self.path is None:
            return b""
        if limit:
            size = self.body_size()
            if size > limit:
                raise BodyTooLarge(size, limit)
            with open(self.path, "rb") as fh:  # a file that grew since: read no more than allowed
                data = fh.read(limit + 1)
            if len(data) > limit:
                raise BodyTooLarge(len(data), limit)
            return data
        return self.path.read_bytes()


def _canonical(url: str) -> str:
    """The one definition of "the same URL", shared by reader and writer so they never disagree."""
    return canonicalize_url(url)


def _parse_status(text: str, where: str) -> int:
    try:
        status = int(text)
    except ValueError:
        raise ManifestError(f"{where}: status {text!r} is not a number") from None
    if not 100 <= status <= 599:
        raise ManifestError(f"{where}: status {status} is not an HTTP status")
    return status


def _parse_row(line: str, where: str) -> ManifestRow:
    fields = [field.strip() for field in line.split("\t")]
    # Editors strip trailing whitespace, which eats the tab before an empty content_type.
    if len(fields) == 3:
        fields.append("")
    if len(fields) != 4:
        raise ManifestError(
            f"{where}: expected 4 tab-separated fields (url, file, status, content_type), "
            f"got {len(fields)}"
        )
    url, file_field, status_text, content_type = fields
    if not url:
        raise ManifestError(f"{where}: empty url")
    status = _parse_status(status_text, where)
    if file_field.startswith(REDIRECT_PREFIX):
        location = file_field[len(REDIRECT_PREFIX) :].strip()
        if not location:
            raise ManifestError(f"{where}: redirect row without a target after '->'")
        if status not in REDIRECT_STATUSES:
            allowed = ", ".join(map(str, sorted(REDIRECT_STATUSES)))
            raise ManifestError(
                f"{where}: redirect row has status {status}; a redirect must be one of {allowed}"
            )
        return ManifestRow(url, "", status, content_type, location)
    return ManifestRow(url, file_field, status, content_type)


def _parse_numbered(text: str, source: str) -> list[tuple[int, ManifestRow]]:
    rows: list[tuple[int, ManifestRow]] = []
    header_seen = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.removeprefix("\ufeff") if number == 1 else raw
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{source}:{number}"
        if not header_seen:
            found = tuple(field.strip() for field in line.split("\t"))
            if found != HEADER:
                raise ManifestError(
                    f"{where}: expected the header line {chr(9).join(HEADER)!r} "
                    f"(tab separated), got {line!r}"
                )
            header_seen = True
            continue
        rows.append((number, _parse_row(line, where)))
    if not header_seen:
        raise ManifestError(f"{source}: no header line {chr(9).join(HEADER)!r}")
    return rows


def parse_manifest(text: str, source: str = MANIFEST_NAME) -> list[ManifestRow]:
    """Parse manifest text into rows in file order, duplicates included.

    Only the syntax is checked here; whether the named files exist and stay inside the directory
    is the reader's business (see :class:`ReplayDir`), because a writer may legitimately load a
    manifest whose files it is about to replace.
    """
    return [row for _, row in _parse_numbered(text, source)]


def _is_unsafe_relative(file: str) -> bool:
    """Tell whether a manifest path is absolute or climbs with ``..``, judged before any I/O.

    Both POSIX and Windows spellings are checked, so an archive built on one system cannot
    reach outside its directory on the other.
    """
    if "\\" not in file and ":" not in file and not file.startswith("/"):
        # no drive, no root, no Windows separator (the manifests this project writes): only
        # the ".." test is left, without building two path objects per row
        return ".." in file.split("/")
    if PurePosixPath(file).is_absolute() or file.startswith("\\"):
        return True
    windows = PureWindowsPath(file)
    if windows.drive or windows.root:
        return True
    parts = file.replace("\\", "/").split("/")
    return ".." in parts


class _InsideResolver:
    """Resolve a manifest's ``file`` entries to real paths, refusing anything that leaves the
    directory: the lexical check catches ``/etc/passwd`` and ``../x``; resolving afterwards
    catches a symlink inside the directory that points out of it.

    For the thousands of rows of one manifest: ``Path.resolve`` costs an ``lstat`` per path
    component, per row: most of loading a large manifest. Here the root and each folder are resolved
    once, and a file is resolved on its own only when it is a symlink (the one case where its real
    place is not its folder's).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = root.resolve()
        #: a row's folder (as written, or as a path) -> that folder resolved
        self._folders: dict[str | PurePosixPath | Path, Path] = {}
        self._inside_folders: dict[Path, bool] = {}
        #: real folder -> its entries (name -> DirEntry), listed once: a DirEntry knows from
        #: the listing whether it is a symlink or a regular file, without an lstat per row
        self._listings: dict[Path, dict[str, os.DirEntry[str]]] = {}

    def _inside(self, folder: Path) -> bool:
        inside = self._inside_folders.get(folder)
        if inside is None:
            inside = self._inside_folders[folder] = folder.is_relative_to(self.real_root)
        return inside

    def _listed(self, folder: Path, name: str) -> os.DirEntry[str] | None:
        listing = self._listings.get(folder)
        if listing is None:
            try:
                with os.scandir(folder) as entries:
                    listing = {entry.name: entry for entry in entries}
            except OSError:
                listing = {}
            self._listings[folder] = listing
        return listing.get(name)

    def __call__(self, file: str, where: str) -> Path:
        if _is_unsafe_relative(file):
            raise ManifestError(
                f"{where}: file {file!r} would leave the replay directory {self.root}"
            )
        head, _, name = file.rpartition("/")
        if all(part not in ("", ".") for part in file.split("/")):
            # a plain relative path (what writers produce): its folder is resolved and listed
            # once, and a regular file listed there is found without touching the disk again
            folder = self._folders.get(head)
            if folder is None:
                folder = self._folders[head] = (self.root / head).resolve()
            entry = self._listed(folder, name)
            if (
                entry is not None
                and not entry.is_symlink()
                and entry.is_file(follow_symlinks=False)
            ):
                if not self._inside(folder):
                    raise ManifestError(
                        f"{where}: file {file!r} resolves to {folder / name}, outside the replay "
                        f"directory {self.real_root}"
                    )
                return folder / name
        # anything else (a symlink, a missing file, an odd spelling): one lstat at a time
        joined = self.root / file
        folder = self._folders.get(joined.parent)
        if folder is None:
            folder = self._folders[joined.parent] = joined.parent.resolve()
        real = folder / joined.name
        try:
            st = os.lstat(real)
        except OSError:
            st = None
        if st is not None and stat.S_ISLNK(st.st_mode):
            real = real.resolve()
            try:
                st = os.stat(real)
            except OSError:
                st = None
        if not real.is_relative_to(self.real_root):
            raise ManifestError(
                f"{where}: file {file!r} resolves to {real}, outside the replay directory "
                f"{self.real_root}"
            )
        if st is None:
            raise ManifestError(f"{where}: file {file!r} is missing from {self.root}")
        if not stat.S_ISREG(st.st_mode):
            raise ManifestError(f"{where}: file {file!r} in {self.root} is not a regular file")
        return real


def _read_manifest_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest; a replay directory needs one") from None
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 ({exc})") from None


class ReplayDir:
    """A saved crawl opened for answering requests.

    Everything that could be wrong with the directory (syntax, missing files, paths leaving
    it) is found while loading, so a replay either starts sound or does not start.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ManifestError(f"{self.directory}: replay directory does not exist")
        manifest = self.directory / MANIFEST_NAME
        text = _read_manifest_text(manifest)
        self._entries: dict[str, ReplayEntry] = {}
        #: each URL as the manifest spells it -> the entry its canonical form answers with:
        #: a request for a listed URL (nearly all of them) skips canonicalize_url, which costs
        #: more than the rest of a lookup
        self._exact: dict[str, ReplayEntry] = {}
        resolve = _InsideResolver(self.directory)
        spelled: list[tuple[str, str]] = []
        for number, row in _parse_numbered(text, str(manifest)):
            where = f"{manifest}:{number}"
            path = resolve(row.file, where) if row.file else None
            entry = ReplayEntry(row.url, row.status, row.content_type, row.location, path)
            key = _canonical(row.url)
            self._entries.setdefault(key, entry)
            spelled.append((row.url, key))
        for url, key in spelled:
            self._exact.setdefault(url, self._entries[key])

    def lookup(self, url: str) -> ReplayEntry | None:
        """Find the stored answer for ``url``, compared in canonical form; ``None`` if absent."""
        entry = self._exact.get(url)
        return entry if entry is not None else self._entries.get(_canonical(url))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and _canonical(url) in self._entries


def _sanitize_field(value: str) -> str:
    """Make a header value safe for one TSV field: tabs and line breaks would split the row."""
    return " ".join(value.replace("\t", " ").splitlines()).strip()


def _require_field(value: str, name: str) -> str:
    if any(ch in value for ch in "\t\r\n"):
        raise ValueError(f"{name} {value!r} contains a tab or line break; it cannot be recorded")
    if not value.strip():
        raise ValueError(f"{name} is empty")
    return value.strip()


def extension_for(content_type: str) -> str:
    """Pick a file extension from a Content-Type, so recorded bodies open in the right tool."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in _EXTENSIONS:
        return _EXTENSIONS[mime]
    guessed = mimetypes.guess_extension(mime, strict=False) if mime else None
    return guessed or ".bin"


def body_file_name(url: str, content_type: str) -> str:
    """Name a body file from the canonical URL, so the same page always lands in the same file.

    A deterministic name makes re-recording overwrite instead of accumulate, and makes two
    recordings of one site diff cleanly.
    """
    digest = hashlib.sha1(_canonical(url).encode("utf-8")).hexdigest()
    return f"{BODY_DIR}/{digest}{extension_for(content_type)}"


def _atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary sibling and ``os.replace``, so a reader never sees half a file.

    A crawl killed mid-write leaves either the old file or the new one, never a torn body that
    would later replay as a corrupt page.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


class RecordDir:
    """A replay directory being written by a live crawl.

    Rows are kept in memory keyed by canonical URL and the manifest is rewritten whole, so the
    file on disk is always a complete, valid manifest. ``flush_interval`` trades durability for
    speed: rewriting a manifest of thousands of rows after every response would cost more than
    the crawl; with a positive interval the manifest is rewritten at most that often, and
    :meth:`flush` (or leaving the ``with`` block) writes the rest.

    Comment lines of an existing manifest are not kept when it is rewritten. One writer per
    directory: two processes recording into the same directory would overwrite each other's
    manifest.
    """

    def __init__(self, directory: str | os.PathLike[str], *, flush_interval: float = 0.0) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.flush_interval = flush_interval
        self._rows: dict[str, ManifestRow] = {}
        self._dirty = False
        self._last_flush = time.monotonic()
        # Files of replaced rows are deleted only after the manifest that no longer names them is
        # on disk; deleting first would leave a manifest pointing at a missing file.
        self._orphans: set[str] = set()
        manifest = self.directory / MANIFEST_NAME
        if manifest.exists():
            for row in parse_manifest(_read_manifest_text(manifest), str(manifest)):
                self._rows.setdefault(_canonical(row.url), row)

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST_NAME

    @property
    def rows(self) -> list[ManifestRow]:
        """The rows as they will be written, in manifest order."""
        return list(self._rows.values())

    def record(
        self,
        url: str,
        status: int,
        content_type: str,
        body: bytes = b"",
        location: str | None = None,
    ) -> ManifestRow:
        """Store one answer, replacing any earlier row (and body file) for the same URL.

        ``body`` must already be decoded from any Content-Encoding: replay serves files as they
        are. A ``location`` makes a redirect row, whose body is not kept because replay never
        shows it.
        """
        url = _require_field(url, "url")
        content_type = _sanitize_field(content_type)
        if not 100 <= status <= 599:
            raise ValueError(f"status {status} is not an HTTP status")
        if location is not None:
            location = _require_field(location, "location")
            if status not in REDIRECT_STATUSES:
                raise ValueError(f"a redirect needs a 3xx redirect status, got {status}")
            row = ManifestRow(url, "", status, content_type, location)
        elif body:
            file = body_file_name(url, content_type)
            _atomic_write(self.directory / file, body)
            row = ManifestRow(url, file, status, content_type)
        else:
            row = ManifestRow(url, "", status, content_type)

        key = _canonical(url)
        old = self._rows.get(key)
        self._rows[key] = row
        if old is not None and old.file and old.file != row.file:
            self._orphans.add(old.file)
        self._orphans.discard(row.file)
        self._dirty = True
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()
        return row

    def flush(self) -> None:
        """Rewrite the manifest atomically, then delete body files no row names any more."""
        if not self._dirty and not self._orphans:
            return
        lines = ["\t".join(HEADER), *(row.to_line() for row in self._rows.values())]
        _atomic_write(self.manifest_path, ("\n".join(lines) + "\n").encode("utf-8"))
        self._dirty = False
        self._last_flush = time.monotonic()
        self._delete_orphans()

    def _delete_orphans(self) -> None:
        # A hand-written manifest may point two URLs at one file; such a file is still in use.
        in_use = {row.file for row in self._rows.values() if row.file}
        for file in sorted(self._orphans - in_use):
            # Never delete outside the directory, whatever an old manifest said.
            if _is_unsafe_relative(file):
                continue
            target = (self.directory / file).resolve()
            if target.is_relative_to(self.directory.resolve()) and target.is_file():
                target.unlink()
        self._orphans.clear()

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> RecordDir:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
