"""Subcommands of ``newsspider``, one module each.

Each module defines ``register(add, common)``: ``add(name, func, help)`` returns an argparse
sub-parser whose ``func(args) -> int`` runs the command; ``common(parser, archive=True)`` adds the
shared options (--output, --images, --replay, --record, -s, --log-level...). :mod:`newsspider.cli`
finds the modules (it never imports them by name, and they never import it); what several
commands share is here (the summary they print) or below them, in :mod:`newsspider.crawl.run`
(settings from options, running a crawl, its report) and :mod:`newsspider.errors` (exit
statuses).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from newsspider.errors import exit_status


def print_report(counts: dict[str, int], failures: dict[str, str],
                 health: Sequence[str] = ()) -> int:  # fmt: skip
    """Print the failed lines, the summary line and the health warnings; return the exit
    status (the health alarm over failures, failures over success)."""
    for url, reason in failures.items():
        print(f"failed: {url}: {reason}", file=sys.stderr)
    line = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"newsspider: {line}", file=sys.stderr)
    for warning in health:
        print(f"newsspider: warning: health: {warning}", file=sys.stderr)
    return exit_status(health=bool(health), failed=bool(failures))
