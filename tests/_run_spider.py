"""Run one spider in this fresh process and write what happened to a JSON file.

Twisted's reactor cannot be restarted, so each test crawl gets its own process; this is the
script that process runs (``tests/crawlutil.py`` builds its config and reads its output).

Usage: ``python tests/_run_spider.py CONFIG.json`` where the config holds ``spider``
(a dotted path), ``settings`` (applied at command-line priority, no project settings are
read), ``spider_kwargs``, ``output`` (where to write the result) and ``forbid_network``.

With ``forbid_network`` every outbound socket operation (``connect``, ``connect_ex``,
``create_connection``, ``sendto``) is logged and refused, and every name lookup
(``getaddrinfo``, ``gethostbyname``...) is logged and refused unless it names an IP literal.
The guard goes in *before Scrapy or Twisted is imported*, so no code path can have kept a
reference to the real functions. The log is part of the output: a replay test asserts it is
empty, and a control test asserts it is not empty for a live crawl.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn


def install_network_guard(attempts: list[str]) -> None:
    """Make every attempt to reach another host fail loudly and leave a trace in ``attempts``.

    Patching the socket layer rather than Twisted catches every client: Twisted's TCP
    connector, asyncio transports, aiohttp, urllib, and the resolver threads.
    """

    def refuse(what: str, detail: object) -> NoReturn:
        attempts.append(f"{what} {detail!r}")
        raise OSError(errno.ENETUNREACH, f"network forbidden by the test guard: {what} {detail!r}")

    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex

    def is_ip_literal(host: object) -> bool:
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        try:
            ipaddress.ip_address(str(host))
        except ValueError:
            return False
        return True

    def lookup(what: str, host: object, detail: object) -> None:
        """Log the lookup; refuse it unless ``host`` is an IP literal.

        Resolving an IP literal needs no DNS server, and letting it through means a crawl of a
        loopback URL goes on to ``connect``, so the connect guard gets exercised too.
        """
        attempts.append(f"{what} {detail!r}")
        if not is_ip_literal(host):
            raise socket.gaierror(
                socket.EAI_NONAME, f"name lookup forbidden by the test guard: {what}"
            )

    def connect(self: socket.socket, address: object) -> None:
        refuse("connect", address)

    def connect_ex(self: socket.socket, address: object) -> int:
        refuse("connect_ex", address)

    def sendto(self: socket.socket, data: bytes, *args: object) -> int:
        refuse("sendto", args[-1] if args else None)

    def create_connection(address: object, *args: object, **kwargs: object) -> socket.socket:
        refuse("create_connection", address)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        lookup("getaddrinfo", host, (host, port))
        return real_getaddrinfo(host, port, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        lookup("gethostbyname", host, host)
        return real_gethostbyname(host)

    def gethostbyname_ex(host: str) -> Any:
        lookup("gethostbyname_ex", host, host)
        return real_gethostbyname_ex(host)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.create_connection = create_connection  # type: ignore[assignment]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.gethostbyname = gethostbyname  # type: ignore[assignment]
    socket.gethostbyname_ex = gethostbyname_ex  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    config: dict[str, Any] = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    attempts: list[str] = []
    if config.get("forbid_network"):
        install_network_guard(attempts)

    # Imported only now, so the guard is in place before any networking module loads.
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings
    from scrapy.utils.misc import load_object

    settings = Settings()
    settings.setdict(config.get("settings", {}), priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(load_object(config["spider"]))

    items: list[dict[str, Any]] = []
    errors: list[str] = []

    # A named function kept alive by this frame: Scrapy's signals hold receivers weakly.
    def item_scraped(item: Any) -> None:
        items.append(dict(item))

    crawler.signals.connect(item_scraped, signal=signals.item_scraped)

    def crawl_failed(failure: Any) -> None:
        errors.append(failure.getTraceback())

    started = time.monotonic()
    deferred = process.crawl(crawler, **config.get("spider_kwargs", {}))
    deferred.addErrback(crawl_failed)
    try:
        process.start()
    except Exception:
        errors.append(traceback.format_exc())
    elapsed = time.monotonic() - started

    # Read after the crawl: spider_closed receivers such as CoreStats add the last stats
    # (elapsed_time_seconds, finish_reason) and the collector keeps them after closing.
    stats = crawler.stats.get_stats() if crawler.stats is not None else {}
    result = {
        "stats": stats,
        "items": items,
        "network_attempts": attempts,
        "errors": errors,
        "elapsed": elapsed,
    }
    Path(config["output"]).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
