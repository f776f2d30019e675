"""Errors that decide an exit status, importable from every layer (no Scrapy, no CLI).

The archive, the replay and the crawl components raise these; the ``newsspider`` command turns
them into exit statuses (``docs/exit-status`` table in README), and ``scrapy crawl`` into a log
line and a stat.
"""

from __future__ import annotations


class UsageError(Exception):
    """Nothing could be done properly (bad option, unusable output folder, damaged index,
    unreadable replay): exit 2, one line, before the first request."""


class ArchiveDamaged(UsageError):
    """The archive's index or journal cannot be trusted; the message names
    ``newsspider index check --repair``."""


class ReplayDamaged(UsageError):
    """A replay directory, its manifest or a WARC file that cannot be replayed as it is."""


#: exit statuses (README "Exit status"): precedence 2 > 3 > 1 > 0
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_HEALTH = 0, 1, 2, 3


def exit_status(*, health: bool = False, failed: bool = False) -> int:
    """The status of a run that started (2 is raised as :class:`UsageError` earlier):
    the health alarm wins over failures, failures over success."""
    if health:
        return EXIT_HEALTH
    return EXIT_FAILED if failed else EXIT_OK
