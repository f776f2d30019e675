"""``newsspider channels``: the channel table and the roll API list each reads."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from newsspider.errors import EXIT_OK, UsageError


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("channels", cmd_channels, "list the channels and their roll API lists")
    p.add_argument("--channels", metavar="FILE", help="YAML file adding channels to the table")


def cmd_channels(args: argparse.Namespace) -> int:
    from newsspider.archive.channels import ChannelError, load_channels

    try:
        table = load_channels(args.channels)
    except ChannelError as exc:
        raise UsageError(str(exc)) from exc
    for ch in table.values():
        print(f"{ch.key}\tpageid={ch.pageid}\tlid={ch.lid}\t{'/'.join(ch.categories)}\t{ch.author}")
    return EXIT_OK
