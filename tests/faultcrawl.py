"""A small simulated Sina on the loopback server, and the ``newsspider`` command pointed at it.

Shared by the fault, lock and schedule tests. :class:`Site` serves a roll feed (``per_page``
items a page, then an empty page: the end of the list), synthetic articles (the seed page under
other doc ids, :func:`rollreplay.synthetic_article`), the seed's six images as small valid
pictures, and whatever a test adds to ``server.routes`` (faults, delays) on top. Every crawl runs
the real command in a subprocess with the loopback download handler (:mod:`loopback`), short
timeouts and no politeness delays (except in the test of the politeness defaults).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from loopback import HANDLER
from PIL import Image
from rollreplay import BEIJING, roll_body, roll_item, synthetic_article, unix  # noqa: F401
from server import LocalHTTPServer, RecordedRequest, Route

from newsspider.archive.index import STATE_DIR

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
BASE_TIME = unix("2023-01-01 12:00:00")
HTML = "text/html; charset=utf-8"
ROLL_PATH = "/api/roll/get"
SEED_IMAGES = [
    "/spider20211202/598/w799h599/20211202/e55b-e658933712d59a655b88210d4384112f.jpg",
    "/spider20211202/415/w799h416/20211202/0ff1-45ba29711b4b97b61b0b9fdfeff8a350.jpg",
    "/spider20211202/442/w799h443/20211202/3fd6-fcfe25c23ea026fc24dd5bb8c30e659c.jpg",
    "/spider20211202/392/w798h394/20211202/46a4-8d041796dfdbf2675455796a32ea2b45.jpg",
    "/spider20211202/546/w800h546/20211202/f082-b1b20a9611f801b8807de13e854d491c.jpg",
    "/finance/cece9e13/20200514/343233024.png",
]
#: settings that keep a crawl against the loopback server fast (the politeness test drops them)
FAST = (
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "DOWNLOAD_TIMEOUT=1",
    "-s",
    "RETRY_TIMES=2",
    "-s",
    "NEWSSPIDER_RETRY_AFTER_MAX=5",
)


def picture(fmt: str, n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8 + n, 6), (n * 30 % 255, 90, 160)).save(out, fmt)
    return out.getvalue()


def path_of(url: str) -> str:
    return urlsplit(url).path


class Site:
    """Articles newest first; ``listed`` says which of them the feed lists (all by default)."""

    def __init__(self, server: LocalHTTPServer, count: int, *, per_page: int = 4) -> None:
        self.server = server
        self.per_page = per_page
        self.articles: list[tuple[str, int, bytes]] = []  # (url, ctime, html)
        self.listed: set[str] | None = None
        self.roll_requests = 0
        for _ in range(count):
            self.add_article()
        server.routes[ROLL_PATH] = self._roll
        for n, path in enumerate(SEED_IMAGES):
            fmt = "PNG" if path.endswith(".png") else "JPEG"
            server.routes[path] = Route(
                body=picture(fmt, n), headers={"Content-Type": f"image/{fmt.lower()}"}
            )

    def add_article(self, *, newest: bool = False, html: bytes | None = None) -> str:
        """Publish one more article (at the top of the feed with ``newest``)."""
        n = len(self.articles)
        ctime = BASE_TIME + n * 60 if newest else BASE_TIME - n * 60
        url, _, _, page = synthetic_article(n, when=ctime)
        entry = (url, ctime, html if html is not None else page)
        self.articles.insert(0, entry) if newest else self.articles.append(entry)
        self.server.routes[path_of(url)] = Route(body=entry[2], headers={"Content-Type": HTML})
        return url

    @property
    def urls(self) -> list[str]:
        return [u for u, _, _ in self.articles]

    def _roll(self, request: RecordedRequest) -> Route:
        query = parse_qs(urlsplit(request.path).query)
        page = int(query.get("page", ["1"])[0])
        self.roll_requests += 1
        shown = [a for a in self.articles if self.listed is None or a[0] in self.listed]
        chunk = shown[(page - 1) * self.per_page : page * self.per_page]
        items = [roll_item(u, f"article {u[-12:]}", c) for u, c, _ in chunk]
        return Route(
            body=roll_body(items, total=10_000),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )


def loopback_args(server: LocalHTTPServer) -> list[str]:
    handlers = json.dumps({"http": HANDLER, "https": HANDLER})
    return [
        "-s",
        f"NEWSSPIDER_TEST_LOOPBACK={server.base_url}",
        "-s",
        f"DOWNLOAD_HANDLERS={handlers}",
    ]


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    out["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS), str(PROJECT), *filter(None, [out.get("PYTHONPATH")])]
    )
    out.pop("NEWSSPIDER_TEST_CRASH", None)
    out.update(extra)
    return out


def command(
    server: LocalHTTPServer, name: str, out: Path, *extra: str, fast: bool = True
) -> list[str]:
    """``newsspider <name> -o out`` against ``server``."""
    return [
        sys.executable,
        "-m",
        "newsspider.cli",
        name,
        "-o",
        str(out),
        "--log-level",
        "INFO",
        *loopback_args(server),
        *(FAST if fast else ()),
        *extra,
    ]


def run(
    argv: Sequence[str], *, timeout: float = 90, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(**env_extra),
        cwd=PROJECT,
        check=False,
    )


def start(argv: Sequence[str], log: Path, **env_extra: str) -> subprocess.Popen[bytes]:
    """Run in the background, stderr and stdout into ``log``."""
    fh = open(log, "wb")  # noqa: SIM115 - the child owns it
    try:
        return subprocess.Popen(
            list(argv), stdout=fh, stderr=subprocess.STDOUT, env=env(**env_extra), cwd=PROJECT
        )
    finally:
        fh.close()


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file of the archive (posts, images), state folder excluded."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and STATE_DIR not in p.relative_to(out).parts
    }


def temp_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*.tmp")]


def post_count(out: Path) -> int:
    return len(list((out / "_posts").rglob("*.md"))) if (out / "_posts").exists() else 0


def cli(*args: str) -> list[str]:
    """``newsspider ARGS`` (no loopback needed: index, replayed crawls)."""
    return [sys.executable, "-m", "newsspider.cli", *args]
