"""Subcommands of ``newsspider`` beyond fetch/extract/channels, one module each.

Each module defines ``register(add, common)``: ``add(name, func, help)`` returns an argparse
sub-parser whose ``func(args) -> int`` runs the command; ``common(parser, archive=True)`` adds the
shared options (--output, --images, --replay, --record, -s, --log-level...). Helpers they need
(``_settings``, ``_run``, ``_summary``, ``_report``, ``UsageError``, exit codes) are in
:mod:`newsspider.cli`.
"""
