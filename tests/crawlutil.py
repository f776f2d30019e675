"""Run real Scrapy crawls from tests, one subprocess per crawl.

Twisted's reactor cannot be restarted within a process, and a crawl that leaves state behind
(signals, installed reactor, patched sockets) would leak into the next test. A subprocess per
crawl costs about a second and removes both problems. :func:`run_spider` starts
``tests/_run_spider.py`` with explicit settings (the project's settings module is never read,
so these tests do not depend on it) and returns what the crawl produced.

:class:`UrlListSpider` is a general-purpose probe: it requests a list of URLs and yields one
item per response (status, flags, headers, body, redirect chain) or per failure, so a test can
assert on exactly what the engine delivered to the spider.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import scrapy
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from newsspider.crawl.middlewares import (
    RECORD_MIDDLEWARE_ORDER,
    REPLAY_MIDDLEWARE_ORDER,
    RecordDownloaderMiddleware,
    ReplayDownloaderMiddleware,
)

TESTS_DIR = Path(__file__).resolve().parent
PROJECT_DIR = TESTS_DIR.parent
RUNNER = TESTS_DIR / "_run_spider.py"

#: Settings every test crawl starts from: nothing that listens on a port or writes outside the
#: test's directories, and logs loud enough to debug a failure from the captured stderr.
BASE_SETTINGS: dict[str, Any] = {
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "LOG_LEVEL": "DEBUG",
    "DOWNLOAD_TIMEOUT": 15,
    "ROBOTSTXT_OBEY": False,
}


def _path_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def replay_settings(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Settings that replay ``directory``, with the middleware at its documented place."""
    return {
        "NEWSSPIDER_REPLAY_DIR": str(directory),
        "DOWNLOADER_MIDDLEWARES": {_path_of(ReplayDownloaderMiddleware): REPLAY_MIDDLEWARE_ORDER},
    }


def record_settings(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Settings that record into ``directory``, with the middleware at its documented place."""
    return {
        "NEWSSPIDER_RECORD_DIR": str(directory),
        "DOWNLOADER_MIDDLEWARES": {_path_of(RecordDownloaderMiddleware): RECORD_MIDDLEWARE_ORDER},
    }


@dataclass
class CrawlResult:
    """What one crawl produced, as read back from the runner's JSON."""

    returncode: int
    stats: dict[str, Any]
    items: list[dict[str, Any]]
    network_attempts: list[str]
    errors: list[str]
    elapsed: float
    stderr: str = field(repr=False)

    def by_start_url(self) -> dict[str, dict[str, Any]]:
        """Items keyed by the URL the spider asked for (before any redirect)."""
        return {item["start_url"]: item for item in self.items}

    def responses(self) -> Iterator[dict[str, Any]]:
        return (item for item in self.items if "status" in item)


def run_spider(
    spider: str | type[scrapy.Spider],
    settings: Mapping[str, Any] | None = None,
    *,
    spider_kwargs: Mapping[str, Any] | None = None,
    forbid_network: bool = False,
    timeout: float = 120.0,
    check: bool = True,
) -> CrawlResult:
    """Crawl in a subprocess and return its stats and items.

    ``settings`` are laid over :data:`BASE_SETTINGS` at command-line priority. With
    ``forbid_network`` the subprocess refuses and logs every connect and name lookup (see
    ``_run_spider.py``). With ``check`` a crawl that failed to run raises, stderr included,
    so a broken crawl is not mistaken for an empty one.
    """
    spider_path = spider if isinstance(spider, str) else _path_of(spider)
    with tempfile.TemporaryDirectory(prefix="crawl-") as work:
        output = Path(work) / "result.json"
        config_path = Path(work) / "config.json"
        config = {
            "spider": spider_path,
            "settings": {**BASE_SETTINGS, **(settings or {})},
            "spider_kwargs": dict(spider_kwargs or {}),
            "output": str(output),
            "forbid_network": forbid_network,
        }
        config_path.write_text(json.dumps(config), encoding="utf-8")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PROJECT_DIR), str(TESTS_DIR), *filter(None, [env.get("PYTHONPATH")])]
        )
        env.pop("SCRAPY_SETTINGS_MODULE", None)
        proc = subprocess.run(
            [sys.executable, str(RUNNER), str(config_path)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if not output.exists():
            raise AssertionError(
                f"crawl produced no result (exit {proc.returncode}); stderr:\n{proc.stderr[-8000:]}"
            )
        data = json.loads(output.read_text(encoding="utf-8"))
    result = CrawlResult(
        returncode=proc.returncode,
        stats=data["stats"],
        items=data["items"],
        network_attempts=data["network_attempts"],
        errors=data["errors"],
        elapsed=data["elapsed"],
        stderr=proc.stderr,
    )
    if check and (proc.returncode != 0 or result.errors):
        raise AssertionError(
            f"crawl failed (exit {proc.returncode}): {result.errors}\n{proc.stderr[-8000:]}"
        )
    return result


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


class UrlListSpider(scrapy.Spider):
    """Request each of ``urls`` once and report every outcome as an item.

    4xx and 5xx answers reach the callback (so a replayed 404 is visible); 3xx are left to
    RedirectMiddleware, so an item's ``redirect_urls`` shows the chain that was followed.
    """

    name = "urllist"
    handle_httpstatus_list: ClassVar[list[int]] = list(range(400, 600))

    def __init__(
        self,
        urls: Sequence[str] = (),
        request_meta: Mapping[str, Any] | None = None,
        method: str = "GET",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.urls = list(urls)
        self.request_meta = dict(request_meta or {})
        self.method = method

    async def start(self) -> AsyncIterator[Request]:
        for url in self.urls:
            yield Request(
                url,
                method=self.method,
                callback=self.parse,
                errback=self.failed,
                dont_filter=True,
                meta=dict(self.request_meta),
            )

    def parse(self, response: Response) -> Iterator[dict[str, Any]]:
        meta = response.meta
        redirect_urls = list(meta.get("redirect_urls", []))
        yield {
            "start_url": redirect_urls[0] if redirect_urls else response.url,
            "url": response.url,
            "status": response.status,
            "flags": list(response.flags),
            "response_class": type(response).__name__,
            "content_type": _text(response.headers.get("Content-Type")),
            "content_encoding": _text(response.headers.get("Content-Encoding")),
            "location": _text(response.headers.get("Location")),
            "body_b64": base64.b64encode(response.body).decode("ascii"),
            "redirect_urls": redirect_urls,
            "redirect_reasons": [str(reason) for reason in meta.get("redirect_reasons", [])],
        }

    def failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        request = failure.request  # type: ignore[attr-defined]
        redirect_urls = list(request.meta.get("redirect_urls", []))
        yield {
            "start_url": redirect_urls[0] if redirect_urls else request.url,
            "url": request.url,
            "error": failure.type.__name__ if failure.type else "unknown",
            "message": str(failure.value),
        }


def body_of(item: Mapping[str, Any]) -> bytes:
    """The response body of a :class:`UrlListSpider` item."""
    return base64.b64decode(item["body_b64"])
