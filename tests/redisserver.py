"""A private ``redis-server`` for the tests that need one (the cluster's), and an empty database
for each test. The tests skip only when no ``redis-server`` is installed. Modules make them
fixtures (``redis_server``, module-scoped; ``redis_url``) with :func:`serve`, :func:`empty_db`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

REDIS_SERVER = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="no redis-server binary: the cluster tests need one (apt-get install redis-server)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server (no persistence) for this module; its URL without the db."""
    assert REDIS_SERVER is not None
    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def empty_db(redis_server: str) -> str:
    """An empty database for each test."""
    from newsspider.cluster import connect

    url = f"{redis_server}/0"
    client = connect(url)
    client.flushdb()
    client.close()
    return url


#: the fixtures every Redis test module uses (tests/conftest.py re-exports them): one server a
#: module, an empty database a test
@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(tmp_path_factory)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    return empty_db(redis_server)
