"""A scriptable HTTP server on 127.0.0.1 for tests that need a real socket.

Tests that crawl "live" must not reach the internet, and tests of retries, timeouts and
truncated downloads need a server that misbehaves on purpose. This one runs in a thread of the
test process on an ephemeral port and serves whatever the test puts in :attr:`routes`::

    def test_something(http_server: LocalHTTPServer) -> None:
        http_server.routes["/a"] = (200, {"Content-Type": "text/html"}, b"<html>...</html>")
        http_server.routes["/moved"] = redirect("/a", status=301)
        http_server.routes["/gz"] = Route(body=b"hello", gzip=True)
        http_server.routes["/flaky"] = [Route(status=503), Route(body=b"ok")]  # 503, then ok
        http_server.routes["/slow"] = Route(fault=Fault.HANG)  # client must time out
        url = http_server.url("/a")
        ...
        assert http_server.hits["/a"] == 1

A route value may be:

- a ``(status, headers, body)`` tuple;
- a :class:`Route`, for gzip, delays and faults;
- a list of those, served in turn, the last one repeating (retries, "fails then recovers");
- a callable taking the :class:`RecordedRequest` and returning one of the above.

Routes match the request path with its query string first, then the path alone; anything else
is a 404. Every request is counted in :attr:`hits` (by path without query) and logged in
:attr:`requests`, headers and body included, so tests can check what a crawler sent.

Use the ``http_server`` fixture (a fresh server per test; import ``http_server_fixture`` into a
test module, or ``http_server`` into a conftest) or :class:`LocalHTTPServer` as a
context manager.
"""

from __future__ import annotations

import enum
import gzip as gzip_module
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

import pytest

__all__ = [
    "Fault",
    "LocalHTTPServer",
    "RecordedRequest",
    "Route",
    "http_server",
    "http_server_fixture",
    "redirect",
]


class Fault(enum.Enum):
    """Ways to break an answer, each one a failure real servers produce."""

    #: Close the connection with a TCP RST before answering (``ConnectionResetError``).
    RESET = "reset"
    #: Read the request and never answer, so the client's timeout fires. The handler gives up
    #: after :attr:`Route.hang_seconds` or when the server stops, whichever comes first.
    HANG = "hang"
    #: Announce the full ``Content-Length`` but send only the first half of the body, then
    #: close: the client sees a truncated download (data loss).
    TRUNCATE = "truncate"


@dataclass(frozen=True)
class Route:
    """One answer. Headers are sent as given; ``Content-Length`` is added unless present."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Compress ``body`` with gzip on the wire and send ``Content-Encoding: gzip``.
    gzip: bool = False
    #: Seconds to wait before answering normally (a slow server, not a broken one).
    delay: float = 0.0
    fault: Fault | None = None
    hang_seconds: float = 30.0


@dataclass(frozen=True)
class RecordedRequest:
    """What the server received, for tests that check what the crawler sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def bare_path(self) -> str:
        return urlsplit(self.path).path


Answer = Route | tuple[int, Mapping[str, str], bytes]
RouteValue = Answer | Sequence[Answer] | Callable[[RecordedRequest], Answer]


def redirect(location: str, status: int = 302) -> Route:
    """A redirect to ``location`` (absolute, or a path on this server)."""
    return Route(status=status, headers={"Location": location})


def _as_route(answer: Answer) -> Route:
    if isinstance(answer, Route):
        return answer
    status, headers, body = answer
    return Route(status=status, headers=dict(headers), body=body)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so clients keep connections alive as they do with real servers; every answer
    # carries a Content-Length, which that requires.
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request stderr lines; tests read :attr:`LocalHTTPServer.requests`."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
        owner = self.server.owner
        route = owner._answer(request)

        if route.delay:
            owner._stopping.wait(route.delay)
        if route.fault is Fault.RESET:
            self._reset()
            return
        if route.fault is Fault.HANG:
            owner._stopping.wait(route.hang_seconds)
            self.close_connection = True
            return

        payload = gzip_module.compress(route.body) if route.gzip else route.body
        self.send_response(route.status)
        names = {name.lower() for name in route.headers}
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.gzip and "content-encoding" not in names:
            self.send_header("Content-Encoding", "gzip")
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(payload)))
        if route.fault is Fault.TRUNCATE:
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _reset(self) -> None:
        """Abort the connection: SO_LINGER with a zero timeout turns close() into an RST."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LocalHTTPServer


class LocalHTTPServer:
    """The server and the knobs tests turn; see the module docstring."""

    def __init__(self, routes: Mapping[str, RouteValue] | None = None) -> None:
        self.routes: dict[str, RouteValue] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self._served: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> LocalHTTPServer:
        self._stopping.clear()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="LocalHTTPServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging handlers are released so nothing outlives the test."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def reset_counts(self) -> None:
        """Forget hits and logged requests (routes stay), e.g. between a record and a replay."""
        with self._lock:
            self.hits.clear()
            self.requests.clear()
            self._served.clear()

    def wait_for_hits(self, path: str, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until ``path`` was requested ``count`` times; for asserting on background work."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.hits[path] >= count:
                return True
            time.sleep(0.01)
        return self.hits[path] >= count

    def _answer(self, request: RecordedRequest) -> Route:
        with self._lock:
            self.hits[request.bare_path] += 1
            self.requests.append(request)
            key = request.path if request.path in self.routes else request.bare_path
            value = self.routes.get(key)
            nth = self._served[key]
            self._served[key] += 1
        if value is None:
            return Route(status=404, headers={"Content-Type": "text/plain"}, body=b"not found")
        if callable(value):
            return _as_route(value(request))
        if isinstance(value, list):
            return _as_route(value[min(nth, len(value) - 1)])
        return _as_route(value)

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture(name="http_server")
def http_server_fixture() -> Iterator[LocalHTTPServer]:
    """A started :class:`LocalHTTPServer` with no routes, stopped after the test.

    The fixture is named ``http_server``; its Python name differs so that a test module can
    import it and still take an ``http_server`` argument without shadowing the import.
    """
    with LocalHTTPServer() as server:
        yield server


#: The same fixture under its fixture name, for ``from server import http_server`` in a conftest.
http_server = http_server_fixture
