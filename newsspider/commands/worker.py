"""``newsspider worker --redis URL``: archive what a cluster's feeder queued (several machines).

``newsspider crawl --redis URL`` (or ``schedule ... --redis URL``) on one machine reads the roll
lists and queues the new articles in Redis; ``newsspider worker --redis URL`` on any number of
machines fetches them and writes the posts into its own ``--output``: the ``sina`` spider and
the usual pipelines, with the cluster's components switched on by the settings
(:mod:`newsspider.crawl.cluster`). See :mod:`newsspider.cluster` for what Redis holds and why.

:func:`add_redis_option` and :func:`redis_settings` are what other commands reuse to take
``--redis``: the option only becomes ``NEWSSPIDER_REDIS_URL``, which is also how Scrapyd (or
``scrapy crawl``) turns it on.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def _url(text: str) -> str:
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise argparse.ArgumentTypeError(f"{text!r}: expected redis://[:password@]host[:port][/db]")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def add_redis_option(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    """``--redis URL``: share the queue, the leases and the archive records through Redis."""
    p.add_argument("--redis", metavar="URL", type=_url, required=required,
                   help="crawl on several machines through this Redis (redis://host:6379/0): "
                   "a crawl queues the new articles there, `newsspider worker` archives them "
                   '(needs pip install -e ".[redis]")')  # fmt: skip


def redis_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings ``--redis`` stands for (none without it); checks the extra is installed."""
    url = getattr(args, "redis", None)
    if not url:
        return {}
    from newsspider.cluster import INSTALL_HINT
    from newsspider.errors import UsageError

    try:
        import redis  # noqa: F401
        import scrapy_redis  # noqa: F401
    except ImportError:
        raise UsageError(f"--redis: {INSTALL_HINT}") from None
    return {"NEWSSPIDER_REDIS_URL": url}


def check_redis(url: str) -> None:
    """Fail before crawling (exit 2) when the server does not answer."""
    from newsspider.cluster import connect
    from newsspider.errors import UsageError

    client = connect(url)
    try:
        client.ping()
    except Exception as exc:  # redis.ConnectionError and friends: the message says enough
        raise UsageError(f"--redis {url}: {exc}") from None
    finally:
        client.close()


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("worker", cmd_worker,
            "archive the articles a `crawl --redis` queued (one of several machines)")  # fmt: skip
    add_redis_option(p, required=True)
    p.add_argument("--exit-when-idle", type=_seconds, metavar="SECONDS",
                   help="exit once the queue has been empty, no article out on a lease and "
                   "no feeder running for SECONDS; default: run until stopped")  # fmt: skip
    p.add_argument("--lease", type=_seconds, metavar="SECONDS",
                   help="how long an article stays with this worker without a renewal before "
                   "another may take it (default 300; renewed every third of it)")  # fmt: skip
    common(p)


def cmd_worker(args: argparse.Namespace) -> int:
    from newsspider.commands import print_report as _report
    from newsspider.crawl.run import run as _run
    from newsspider.crawl.run import settings_for as _settings
    from newsspider.crawl.run import summary as _summary
    from newsspider.crawl.run import writable_output as _writable_output

    extra: dict[str, Any] = redis_settings(args)
    if args.exit_when_idle:
        extra["NEWSSPIDER_EXIT_WHEN_IDLE"] = args.exit_when_idle
    if args.lease:
        extra["NEWSSPIDER_REDIS_LEASE"] = args.lease
    settings = _settings(args, **extra)
    _writable_output(settings)
    check_redis(args.redis)
    from newsspider.crawl.cluster import worker_settings

    # the ordinary spider and pipelines, fed from the queue (crawl/cluster.py); an explicit
    # -s still wins
    settings.setdict(worker_settings(settings), priority=30)
    crawler = _run(settings, "sina")
    counts, failures = _summary(crawler)
    stats = crawler.stats.get_stats() if crawler.stats else {}
    counts["taken"] = int(stats.get("cluster/popped", 0))
    return _report(counts, failures)
