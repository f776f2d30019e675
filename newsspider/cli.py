"""The ``newsspider`` command: the parser, the subcommands it finds, and the exit status.

Every subcommand exits with the same convention (README "Exit status", also in ``--help``):
2 nothing could be done properly (found before the first request, or the engine never opened the
spider); 3 the health alarm; 1 some requested articles failed; 0 every requested article
archived, updated or unchanged. When several hold, 2 > 3 > 1 > 0. Options are checked in one
place, :mod:`newsspider.crawl.options`, and no traceback reaches the user below ``--log-level
DEBUG``. The subcommands live in :mod:`newsspider.commands`, one module each, found here by name
(neither side imports the other); running a crawl is :mod:`newsspider.crawl.run`'s.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from newsspider.crawl import options
from newsspider.crawl.run import settings_for as _settings  # noqa: F401  (tests build settings)
from newsspider.errors import (  # one class for every layer: exit 2
    EXIT_FAILED,
    EXIT_HEALTH,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    exit_status,
)

__all__ = ["EXIT_FAILED", "EXIT_HEALTH", "EXIT_OK", "EXIT_USAGE", "UsageError", "exit_status",
           "main"]  # fmt: skip

#: the subcommands listed first in ``--help`` (the rest follow by name)
FIRST = ("fetch", "extract", "channels")

EXIT_STATUS_HELP = """exit status (precedence 2 > 3 > 1 > 0):
  0  every requested article archived, updated or unchanged
  1  some requested articles failed (the rest was archived)
  2  nothing could be done: bad option or value, unusable output folder, damaged
     index or replay, a pipeline that cannot load, the crawl never started
  3  health alarm: fetched pages no longer look like Sina's
Ctrl-C, CLOSESPIDER_* and --limit end a crawl normally."""


def _common(p: argparse.ArgumentParser, *, archive: bool = True) -> None:
    if archive:
        p.add_argument("--output", "-o", metavar="DIR", help="output folder (default: output)")
        p.add_argument(
            "--images",
            choices=("local", "remote", "off"),
            help="local: download and link local copies (default); remote: download, keep "
            "remote links; off: download nothing",
        )
        p.add_argument(
            "--compact-body",
            action="store_true",
            help="drop blank body lines so Markdown renders the body as HTML",
        )
    p.add_argument("--channels", metavar="FILE", help="YAML file adding channels to the table")
    p.add_argument("--replay", metavar="DIR|WARC",
                   help="answer every request from a saved crawl: a replay directory or a "
                   ".warc/.warc.gz file")  # fmt: skip
    p.add_argument("--record", metavar="DIR", help="save every response into a replay directory")
    p.add_argument("-O", "--overwrite-feed", action="append", metavar="FILE[:FORMAT]",
                   help="also export the articles of this run to FILE, replacing it "
                   "(Scrapy feed exports; format from the extension: .jsonl, .json, .csv, "
                   ".xml)")  # fmt: skip
    p.add_argument("--record-warc", metavar="FILE",
                   help="append every request and response to a WARC file (gzip unless FILE "
                   "ends in .warc)")  # fmt: skip
    p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE",
                   help="override a Scrapy setting")  # fmt: skip
    add_log_level(p)


def add_log_level(p: argparse.ArgumentParser) -> None:
    """``--log-level``: checked by :func:`newsspider.crawl.options.log_level` (exit 2 otherwise)."""
    p.add_argument("--log-level", default="ERROR", type=options.log_level, metavar="LEVEL",
                   help="log level: CRITICAL, ERROR (default: only the failed: lines and the "
                   "summary), WARNING, INFO, DEBUG (also every traceback)")  # fmt: skip


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``newsspider: error: ...``, exit 2, like every other
    refusal) and no abbreviated options: ``--round`` is a typo, not ``--rounds``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _version() -> str:
    from newsspider import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="newsspider",
        description="Archive Sina Finance news as Hexo posts.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"newsspider {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=Parser)  # fmt: skip

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str) -> Any:
        p = sub.add_parser(name, help=help, description=help, epilog=EXIT_STATUS_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        p.set_defaults(func=func)
        return p

    # the subcommands, one module each in newsspider/commands (each has register()): found by
    # name, so the commands never need this module and this module never names a command
    package = importlib.import_module("newsspider.commands")
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                   if not m.name.startswith("_"))  # fmt: skip
    for name in sorted(names, key=lambda n: (FIRST.index(n) if n in FIRST else len(FIRST), n)):
        importlib.import_module(f"{package.__name__}.{name}").register(add, _common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the words as typed: `schedule` passes its crawl options on to each round unchanged
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    debug = getattr(args, "log_level", "ERROR") == "DEBUG"
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"newsspider: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # outside a crawl (a crawl handles Ctrl-C itself)
        print("newsspider: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line by default, the traceback with DEBUG
        if debug:
            raise
        print(f"newsspider: error: {type(exc).__name__}: {exc} (--log-level DEBUG shows the "
              "traceback; please report it)", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
