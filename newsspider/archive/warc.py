"""Saved crawls as WARC files: record a crawl into one, replay a crawl from one.

WARC (ISO 28500) is what web archives exchange; a replay directory (``REPLAY.md``) stays the
readable default, and this module makes the same crawl available in the standard format:
``--record-warc FILE`` writes it, ``--replay FILE.warc[.gz]`` reads it. Files are written and
read with ``warcio``, the reference library, so ``warcio check`` and every WARC tool accept them.

What goes into a response record, and why
    The recording middleware (:mod:`newsspider.crawl.middlewares`, this module has no Scrapy
    in it) sits at ``WARC_RECORD_MIDDLEWARE_ORDER`` (605),
    *above* RedirectMiddleware (600) and HttpCompressionMiddleware (590). ``process_response``
    runs from high numbers to low, so it sees every response before Scrapy changes it: the body
    is the payload as transferred, ``Content-Encoding`` still applied, next to the headers as
    received -- which is what the WARC standard asks of a response record, and what keeps the
    record self-consistent (a header block saying ``gzip`` over gzip bytes). Recording after
    decompression (as the replay directory does, at 585) would need the headers edited to match
    the decoded body; at 605 nothing needs editing except the framing Scrapy already undid:
    the body arrives de-chunked, so ``Transfer-Encoding`` is dropped and ``Content-Length`` set
    to the bytes kept (also right after a tolerated data loss). It also sees every redirect,
    live or replayed, before RedirectMiddleware consumes it, so no signal is needed, and a crawl
    replayed from a directory re-records into a WARC completely (redirect rows included).
    Responses that RetryMiddleware (550) will retry are recorded too: a WARC is a log.

How a WARC is replayed
    :class:`WarcReplaySource` indexes the response records by canonical URL (the same
    ``canonicalize_url`` as the directory) and answers with status, headers and payload as
    recorded; a gzip payload is decoded by HttpCompressionMiddleware exactly as a live one.
    When a URL has several response records, the **last** one counts. A WARC only grows: a
    retried 503 is followed by the 200 that replaced it, and a re-recorded URL by its newer
    answer. Recording into a directory replaces the row in both cases, so "last record wins"
    is what makes a WARC replay give the same answers as a directory recorded from the same
    crawl ("first row counts" in ``REPLAY.md`` is about hand-written manifests, which have no
    order in time). Responses to other methods than GET, and ``revisit`` records, are not
    indexed; a URL with no response record is answered 404 by the replay middleware.

Durability
    Each request/response pair is built in memory and written with one ``write`` and a flush
    (an ``fsync`` too with ``NEWSSPIDER_FSYNC``), every record its own gzip member, so a killed
    crawl leaves a WARC readable up to its last complete record. Recording into an existing
    WARC appends (a new ``warcinfo`` first); an incomplete record at its end, left by a crash,
    is cut off first, so the appended records stay readable.
"""

from __future__ import annotations

import contextlib
import http
import io
import logging
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsspider.archive.replay import (
    REDIRECT_STATUSES,
    BodyTooLarge,
    ManifestError,
    ReplayDir,
    ReplayEntry,
)

__all__ = [
    "WARC_SUFFIXES",
    "ReplaySource",
    "WarcEntry",
    "WarcError",
    "WarcFile",
    "WarcReplaySource",
    "check_replay_source",
    "is_warc_path",
    "open_replay_source",
]

logger = logging.getLogger(__name__)

#: File names ``--replay`` takes for a WARC; anything else must be a replay directory.
WARC_SUFFIXES: tuple[str, ...] = (".warc", ".warc.gz")

WARC_VERSION = "1.1"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1024 * 1024

HeaderPairs = list[tuple[bytes, bytes]]


class WarcError(ManifestError):
    """A WARC that cannot be replayed or appended to; found when it is opened, never later."""


def is_warc_path(path: str | os.PathLike[str]) -> bool:
    """Tell a WARC from a replay directory by name: ``.warc`` and ``.warc.gz`` are WARCs."""
    return str(path).lower().endswith(WARC_SUFFIXES)


def _software() -> str:
    try:
        return f"newsspider/{version('newsspider')} warcio/{version('warcio')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "newsspider"


# --- writing --------------------------------------------------------------------------------


class _RawHeaders(StatusAndHeaders):  # type: ignore[misc]
    """A header block written byte for byte.

    warcio percent-encodes non-ASCII header values on write (RFC 8187), which would record a
    header other than the one received; HTTP headers are bytes, kept here as latin-1 text so
    that encoding them back gives the exact bytes.
    """

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_bytes(header_filter, encoding="latin-1")


def _latin1(pairs: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in pairs]


def _recorded_response_headers(headers: HeaderPairs, body_len: int, method: str) -> HeaderPairs:
    """The received headers, with the framing made true of the body that is kept.

    Scrapy hands over a de-chunked body, so ``Transfer-Encoding`` goes and ``Content-Length``
    states the bytes kept; ``Content-Encoding`` stays, because the body is still encoded.
    A HEAD answer's ``Content-Length`` describes the GET body and is left alone.
    """
    kept: HeaderPairs = []
    had_length = dechunked = False
    for name, value in headers:
        lower = name.lower()
        if lower == b"transfer-encoding":
            dechunked = True
            continue
        if lower == b"content-length" and method != "HEAD":
            had_length = True
            continue
        kept.append((name, value))
    if had_length or dechunked:
        kept.append((b"Content-Length", str(body_len).encode("ascii")))
    return kept


class WarcFile:
    """A WARC being written: a ``warcinfo`` record, then request/response pairs, appended.

    Scrapy-free, so the format side can be used and tested alone. Records are gzip-compressed
    (one member each, as WARC tools expect) unless the file name ends in ``.warc``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        info: Mapping[str, str] | None = None,
        gzip: bool | None = None,
        fsync: bool = False,
    ) -> None:
        self.path = Path(path)
        self.gzip = not self.path.name.lower().endswith(".warc") if gzip is None else gzip
        self.fsync = fsync
        self.records = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._prepare_append()
        self._file: IO[bytes] | None = open(self.path, "ab")  # noqa: SIM115 - kept open
        fields = {
            "software": _software(),
            "format": f"WARC File Format {WARC_VERSION}",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
            "warc-format/warc-1.1/",
            **(info or {}),
        }
        self._write(lambda writer: [writer.create_warcinfo_record(self.path.name, fields)])

    def _prepare_append(self) -> None:
        """Check an existing file can take more records; cut off a record a crash left torn.

        Mixing gzip and plain records, or appending to something that is not a WARC, would
        make the whole file unreadable past that point, so both are refused.
        """
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb") as fh:
            is_gzip = fh.read(2) == _GZIP_MAGIC
        if is_gzip != self.gzip:
            kind = "gzip-compressed" if is_gzip else "uncompressed"
            raise WarcError(f"{self.path}: is {kind}; cannot append records compressed otherwise")
        end, count, problem = _scan(self.path, self.gzip)
        if count == 0 and not _starts_like_warc(self.path, self.gzip):
            raise WarcError(f"{self.path}: not a WARC file, not appending to it ({problem})")
        if problem is not None:
            size = self.path.stat().st_size
            logger.warning(
                "%s: cutting off %d bytes of an incomplete record after offset %d (%s)",
                self.path, size - end, end, problem,
            )  # fmt: skip
            with open(self.path, "r+b") as fh:
                fh.truncate(end)

    def _write(self, build: Callable[[WARCWriter], list[Any]]) -> None:
        """Build records in memory, then write them with one call and flush.

        A crash can then only leave a torn tail, never a torn record in the middle. ``build``
        returns one record, or a request and its response, which warcio writes as a pair
        (response first, the request pointing at it with ``WARC-Concurrent-To``).
        """
        if self._file is None:
            raise ValueError(f"{self.path}: WARC already closed")
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=self.gzip, warc_version=WARC_VERSION)
        records = build(writer)
        if len(records) == 2:
            writer.write_request_response_pair(*records)
        else:
            writer.write_record(records[0])
        self._file.write(buffer.getvalue())
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        self.records += len(records)

    def write_exchange(
        self,
        url: str,
        *,
        method: str = "GET",
        request_headers: Iterable[tuple[bytes, bytes]] = (),
        request_body: bytes = b"",
        status: int,
        response_headers: Iterable[tuple[bytes, bytes]] = (),
        body: bytes = b"",
        protocol: str | None = None,
        ip_address: str | None = None,
    ) -> None:
        """Append a ``response`` record and its ``request`` record (``WARC-Concurrent-To``).

        ``body`` is the payload as received, still Content-Encoded and already de-chunked.
        The reason phrase is the standard one for ``status``: Scrapy does not keep the one sent,
        and nothing reads it. ``Host`` is added to the request headers, as the HTTP client
        sends it without Scrapy seeing it.
        """
        protocol = protocol or "HTTP/1.1"
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        req_pairs = list(request_headers)
        if not any(name.lower() == b"host" for name, _ in req_pairs):
            host = parts.netloc.rpartition("@")[2]  # Scrapy's URLs are ASCII already
            req_pairs.insert(0, (b"Host", host.encode("ascii", "replace")))
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        resp_pairs = _recorded_response_headers(list(response_headers), len(body), method)
        warc_headers = {"WARC-IP-Address": ip_address} if ip_address else {}

        def build(writer: WARCWriter) -> list[Any]:
            response = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                warc_headers_dict=warc_headers,
                http_headers=_RawHeaders(
                    f"{status} {reason}".strip(), _latin1(resp_pairs), protocol=protocol
                ),
            )
            request = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(request_body),
                length=len(request_body),
                http_headers=_RawHeaders(
                    f"{method} {target} {protocol}", _latin1(req_pairs), is_http_request=True
                ),
            )
            return [request, response]

        self._write(build)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> WarcFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- reading --------------------------------------------------------------------------------


def _gzip_members_end(path: Path) -> int:
    """The offset just past the last complete gzip member of ``path``.

    warcio reads a gzip member cut short without complaint (the record may even be whole with
    only the gzip trailer missing), but appending after it would be read as the rest of that
    member and spoil everything after; only zlib's end-of-stream mark settles it.
    """
    end = consumed = 0
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            data = chunk
            while data:
                try:
                    decompressor.decompress(data, _CHUNK)  # output bounded, and dropped
                except zlib.error:
                    return end
                if decompressor.eof:
                    consumed += len(data) - len(decompressor.unused_data)
                    end = consumed
                    data = decompressor.unused_data
                    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
                else:
                    consumed += len(data) - len(decompressor.unconsumed_tail)
                    data = decompressor.unconsumed_tail
    return end


def _starts_like_warc(path: Path, gzip: bool) -> bool:
    """Tell a WARC whose first record is torn from a file that is no WARC at all."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if gzip:
        with contextlib.suppress(zlib.error):
            head = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 16)
    return head.startswith(b"WARC/")


def _scan(path: Path, gzip: bool) -> tuple[int, int, str | None]:
    """Read a WARC through, checking digests: ``(end of the last sound record, count, problem)``.

    A record cut short may read without an exception; its digest fails, or (gzip) its member
    has no end, so those decide.
    """
    end = count = start = 0
    problem: str | None = None
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh, check_digests=True)
        try:
            for record in iterator:
                start = iterator.offset
                iterator.read_to_end(record)
                if record.digest_checker.passed is False:
                    problem = "; ".join(map(str, record.digest_checker.problems))
                    break
                end = iterator.offset
                count += 1
        except Exception as exc:  # warcio raises many types for a torn or foreign file
            problem = f"{type(exc).__name__}: {exc}"
    if problem is None and end < path.stat().st_size:
        problem = f"unreadable bytes after offset {end}"
    if not gzip and problem is None and count:
        # The record is whole but its closing blank lines may be cut; an appended record would
        # then run into it.
        with open(path, "rb") as fh:
            fh.seek(max(0, end - 4))
            if fh.read(4) != b"\r\n\r\n":
                end, count, problem = start, count - 1, "last record not terminated"
    if gzip:
        members_end = _gzip_members_end(path)
        if members_end < end or (problem is None and members_end < path.stat().st_size):
            problem = problem or f"gzip member at offset {members_end} has no end"
            end = min(end, members_end)
    return end, count, problem


def _record_follows(path: Path, start: int, gzip: bool) -> bool:
    """Does a WARC record start anywhere after ``start``? (A gzip member that opens with
    ``WARC/``, or such a line in an uncompressed file.) A crash leaves only a torn last record,
    so a broken record with another after it is damage inside the file."""
    mark = _GZIP_MAGIC + b"\x08" if gzip else b"\r\nWARC/"
    with open(path, "rb") as fh:
        fh.seek(start)
        tail = b""
        pos = start
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            found = data.find(mark)
            while found != -1:
                if not gzip:
                    return True
                fh_pos = pos - len(tail) + found
                with open(path, "rb") as probe:
                    probe.seek(fh_pos)
                    head = probe.read(4096)
                with contextlib.suppress(zlib.error):
                    if (
                        zlib.decompressobj(zlib.MAX_WBITS | 16)
                        .decompress(head, 16)
                        .startswith(b"WARC/")
                    ):
                        return True
                found = data.find(mark, found + 1)
            tail = data[-(len(mark) - 1) :]
            pos += len(chunk)
    return False


def _header_bytes(text: str) -> bytes:
    """Undo warcio's header decoding (UTF-8 where valid, latin-1 otherwise) back to bytes.

    Text that latin-1 encodes into invalid UTF-8 can only have come from latin-1 decoding;
    anything else came from UTF-8.
    """
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class WarcEntry:
    """A response record found in a WARC; the payload stays in the file until asked for."""

    url: str
    status: int
    content_type: str
    location: str | None
    path: Path
    offset: int
    header_pairs: tuple[tuple[bytes, bytes], ...] = field(repr=False)
    chunked: bool = False

    @property
    def headers(self) -> dict[bytes, list[bytes]]:
        """The recorded headers, repeated ones (``Set-Cookie``) kept, framing made true."""
        headers: dict[bytes, list[bytes]] = {}
        for name, value in self.header_pairs:
            headers.setdefault(name, []).append(value)
        return headers

    def read_body(self, limit: int = 0) -> bytes:
        """Read the payload from the WARC now (still Content-Encoded, as it was transferred).
        With a ``limit``, reading stops as soon as the payload is past it
        (:class:`~newsspider.archive.replay.BodyTooLarge`): a huge record is never held whole."""
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            record = next(iter(ArchiveIterator(fh)))
            stream = ChunkedDataReader(record.raw_stream) if self.chunked else record.raw_stream
            parts = []
            size = 0
            while chunk := stream.read(_CHUNK):
                parts.append(chunk)
                size += len(chunk)
                if limit and size > limit:
                    raise BodyTooLarge(size, limit)
        return b"".join(parts)


def _entry(record: Any, path: Path, offset: int) -> WarcEntry:
    http_headers = record.http_headers
    status = int(http_headers.get_statuscode())
    pairs: list[tuple[bytes, bytes]] = []
    chunked = False
    for name, value in http_headers.headers:
        if name.lower() == "transfer-encoding":
            chunked = "chunked" in value.lower()
            continue  # the body is served de-chunked
        pairs.append((_header_bytes(name), _header_bytes(value)))
    if chunked:
        pairs = [(n, v) for n, v in pairs if n.lower() != b"content-length"]
    location = http_headers.get_header("Location")
    return WarcEntry(
        url=record.rec_headers.get_header("WARC-Target-URI").strip().strip("<>"),
        status=status,
        content_type=http_headers.get_header("Content-Type") or "",
        location=location if status in REDIRECT_STATUSES and location else None,
        path=path,
        offset=offset,
        header_pairs=tuple(pairs),
        chunked=chunked,
    )


class WarcReplaySource:
    """A WARC opened for answering requests: ``lookup()`` as :class:`ReplayDir` has it.

    The index (URL, status, headers, offset) is built when opening; bodies are read from the
    file on demand, so memory stays flat however large the WARC. A record cut short at the end
    (a crawl killed mid-write) is left out and reported in :attr:`problem`; a file with no
    readable record at all is refused.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise WarcError(f"{self.path}: WARC file does not exist")
        self.problem: str | None = None
        self._entries: dict[str, WarcEntry] = {}
        responses: list[tuple[str, str, WarcEntry]] = []  # (record id, concurrent-to, entry)
        methods: dict[str, str] = {}  # record id -> method of the request it is or answers
        records = end = 0
        fatal: WarcError | None = None
        with open(self.path, "rb") as fh:
            gzipped = fh.read(2) == _GZIP_MAGIC
        # a record in a gzip member cut short can read as whole (warcio does not complain, and a
        # body of repeated bytes may even decompress in full): only complete members count
        sound_end = _gzip_members_end(self.path) if gzipped else None
        with open(self.path, "rb") as fh:
            iterator = ArchiveIterator(fh, check_digests=True)
            try:
                for record in iterator:
                    offset = iterator.offset  # where this record starts
                    headers = record.rec_headers
                    entry = None
                    if record.rec_type == "response" and record.http_headers:
                        entry = _entry(record, self.path, offset)
                    elif record.rec_type == "request" and record.http_headers:
                        method = record.http_headers.protocol.upper()
                        methods[headers.get_header("WARC-Record-ID") or ""] = method
                        for name, value in headers.headers:
                            if name.lower() == "warc-concurrent-to":
                                methods[value] = method
                    iterator.read_to_end(record)
                    if record.digest_checker.passed is False:
                        problems = "; ".join(map(str, record.digest_checker.problems))
                        if iterator.offset < self.path.stat().st_size:
                            # whole but damaged, with records after it: not a crash's torn
                            # tail but a corrupt file; nothing after it can be trusted
                            fatal = WarcError(f"{self.path}: record at offset {offset} is "
                                              f"corrupt ({problems})")  # fmt: skip
                        raise WarcError(f"record at offset {offset}: {problems}")
                    if sound_end is not None and iterator.offset > sound_end:
                        raise WarcError(f"record at offset {offset}: its gzip member has no end")
                    records += 1
                    end = iterator.offset
                    if entry is not None:
                        record_id = headers.get_header("WARC-Record-ID") or ""
                        concurrent = headers.get_header("WARC-Concurrent-To") or ""
                        responses.append((record_id, concurrent, entry))
            except Exception as exc:  # warcio raises many types for a torn or foreign file
                if fatal is not None:
                    raise fatal from None
                if records == 0:
                    raise WarcError(f"{self.path}: not a readable WARC file ({exc})") from None
                self.problem = f"{self.path}: stopped reading at a broken record: {exc}"
        if records == 0:
            raise WarcError(f"{self.path}: not a readable WARC file (no record)")
        if self.problem is None and end < self.path.stat().st_size:
            self.problem = f"{self.path}: unreadable bytes after offset {end} (a torn record?)"
        if self.problem is not None and _record_follows(self.path, end + 1, gzipped):
            # not the torn tail a crash leaves: a damaged record with sound ones after it
            raise WarcError(f"{self.path}: the record at offset {end} is damaged and records "
                            "follow it: a corrupt WARC, not one a crash cut short")  # fmt: skip
        for record_id, concurrent, entry in responses:
            method = methods.get(record_id) or methods.get(concurrent) or "GET"
            if method == "GET":
                self._entries[canonicalize_url(entry.url)] = entry  # the last one counts

    def lookup(self, url: str) -> WarcEntry | None:
        """Find the recorded answer for ``url``, compared in canonical form; ``None`` if absent."""
        return self._entries.get(canonicalize_url(url))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and canonicalize_url(url) in self._entries

    def __iter__(self) -> Iterator[WarcEntry]:
        return iter(self._entries.values())


class ReplaySource(Protocol):
    """What the replay middleware needs of a saved crawl, directory or WARC."""

    def lookup(self, url: str) -> ReplayEntry | WarcEntry | None: ...


def open_replay_source(path: str | os.PathLike[str]) -> ReplayDir | WarcReplaySource:
    """Open a saved crawl: a WARC file by its name (``.warc``, ``.warc.gz``), else a directory.

    The answer is kept for the process (keyed by the path and its size and time), so that
    :func:`check_replay_source` before the crawl and the replay middleware share one load."""
    key = _source_key(path)
    cached = _OPENED.get(key) if key is not None else None
    if cached is not None:
        return cached
    if is_warc_path(path) and not Path(path).is_dir():
        source: ReplayDir | WarcReplaySource = WarcReplaySource(path)
    else:
        source = ReplayDir(path)
    if key is not None:
        _OPENED.clear()  # one saved crawl per process is what a run uses
        _OPENED[key] = source
    return source


#: the saved crawl opened last, by :func:`_source_key`
_OPENED: dict[tuple[str, int, int], ReplayDir | WarcReplaySource] = {}


def _source_key(path: str | os.PathLike[str]) -> tuple[str, int, int] | None:
    """What identifies a saved crawl on disk: its real path, and the size and modification time
    of the file that says what it holds (the WARC, or the directory's manifest)."""
    try:
        real = Path(path).resolve()
        st = (real / "MANIFEST.tsv" if real.is_dir() else real).stat()
    except OSError:
        return None
    return (str(real), st.st_size, st.st_mtime_ns)


def check_replay_source(path: str | os.PathLike[str]) -> ReplayDir | WarcReplaySource:
    """Open ``--replay PATH`` (``NEWSSPIDER_REPLAY_DIR``) completely before a crawl starts, or
    refuse it with :class:`~newsspider.errors.ReplayDamaged` (exit 2, one line): a directory
    without a manifest or with a bad row (a status like ``abc``, a file ``../../etc/passwd``
    or one that is missing, a redirect without a target), a WARC that is no WARC or corrupt
    before its end, anything unreadable. A WARC whose last record a crash cut short is not a
    defect: the rest replays, with a warning (see :class:`WarcReplaySource`)."""
    from newsspider.errors import ReplayDamaged

    target = Path(path)
    if not target.exists():
        raise ReplayDamaged(f"--replay {target}: no such file or directory")
    if target.is_file() and not is_warc_path(target):
        raise ReplayDamaged(
            f"--replay {target}: neither a .warc/.warc.gz file nor a directory with a "
            "MANIFEST.tsv (see docs/REPLAY.md)"
        )
    try:
        return open_replay_source(target)
    except ManifestError as exc:  # WarcError included
        raise ReplayDamaged(f"--replay: {_one_line(str(exc))}") from None
    except (OSError, UnicodeError, ValueError) as exc:
        raise ReplayDamaged(f"--replay {target}: cannot be read ({_one_line(str(exc))})") from None


def _one_line(text: str, limit: int = 240) -> str:
    """A message for one terminal line: what a damaged file put in it (control characters,
    bytes read as text) escaped, and cut at ``limit`` characters."""
    text = " ".join(text.split())
    text = "".join(c if c.isprintable() and ord(c) < 0x7F else f"\\x{ord(c):02x}"
                   if ord(c) < 0x100 else c for c in text)  # fmt: skip
    return text if len(text) <= limit else text[: limit - 3] + "..."
