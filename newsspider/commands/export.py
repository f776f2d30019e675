"""``newsspider export``: the archive as JSON Lines, for tools that do not read Hexo posts.

Only the index is read (no crawl, no Scrapy); the output is deterministic: the same archive
exports to the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsspider.archive import DEFAULT_OUTPUT


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("export", cmd_export, "write the archive as JSON Lines (one object per article)")
    p.add_argument(
        "--format",
        choices=("jsonl",),
        default="jsonl",
        help="output format (jsonl: one JSON object a line; the only one yet)",
    )
    p.add_argument("--output", "-o", metavar="DIR", default=DEFAULT_OUTPUT,
                   help="the archive's output folder (default: output)")  # fmt: skip
    p.add_argument("--to", metavar="FILE", default="-",
                   help="where to write (default -: standard output)")  # fmt: skip
    p.add_argument("--since", metavar="WHEN",
                   help="only articles published at or after WHEN (ISO date or date-time, "
                   "Beijing time unless it has an offset)")  # fmt: skip
    p.add_argument("--channel", metavar="KEY", help="only articles filed under this channel")
    p.add_argument("--channels", metavar="FILE", help="YAML file adding channels to the table")


def since_timestamp(text: str | None) -> int | None:
    """``--since`` as unix seconds (:func:`newsspider.crawl.options.since_timestamp`)."""
    from newsspider.crawl import options

    return options.since_timestamp(text)


def cmd_export(args: argparse.Namespace) -> int:
    from newsspider.archive.export import export_records, write_jsonl
    from newsspider.crawl import options
    from newsspider.errors import EXIT_OK, UsageError

    since = options.since_timestamp(args.since)
    if args.channel:
        options.channels([args.channel], args.channels)
    output = options.existing_archive(args.output)
    if args.to != "-":
        options.writable_file(args.to, "--to")
    records = export_records(output, since=since, channel=args.channel)
    try:
        first = next(records, None)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    batch = [first] if first is not None else []

    def everything() -> Any:
        yield from batch
        yield from records

    if args.to == "-":
        try:
            count = write_jsonl(everything(), sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # `export | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
    else:
        # a temp file renamed into place: a reader never sees half an export
        target = Path(args.to)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
                count = write_jsonl(everything(), fh)
            os.replace(tmp, target)
        except OSError as exc:  # disk full, a folder vanished: one line, exit 2
            raise UsageError(f"--to {target}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    print(f"newsspider: exported {count} article(s)", file=sys.stderr)
    return EXIT_OK
