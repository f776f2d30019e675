"""``newsspider index check|import|failed|templates``: look after the archive index under
``<output>/.newsspider``."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsspider.archive import DEFAULT_OUTPUT


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("index", cmd_index, "check, repair or extend the archive index")
    sub = p.add_subparsers(dest="index_command", required=True, metavar="ACTION")

    c = sub.add_parser("check", help="verify the index against the posts on disk (exit 1 if not)",
                       description="Report posts missing on disk, posts the index does not "
                       "know (orphaned), content hash mismatches and index rows that disagree "
                       "with the journal. Exit 1 when any is found.")  # fmt: skip
    c.add_argument("--output", "-o", metavar="DIR", default=DEFAULT_OUTPUT, help="output folder")
    c.add_argument("--repair", action="store_true",
                   help="rebuild the index from the journal and the posts on disk (a missing "
                   "post is marked for re-fetch)")  # fmt: skip
    c.add_argument("--channels", metavar="FILE", help="YAML file adding channels to the table")

    i = sub.add_parser("import", help="adopt posts already in this format into the index",
                       description="Copy posts of an existing archive (for example a clone of "
                       "the original one) into _posts/<their categories>/ and record them, so "
                       "that a crawl reaching one of them records its URL against that post "
                       "instead of writing a second one.")  # fmt: skip
    i.add_argument("source", metavar="DIR", help="folder holding the posts (searched recursively)")
    i.add_argument("--output", "-o", metavar="DIR", default=DEFAULT_OUTPUT, help="output folder")
    i.add_argument("--channels", metavar="FILE", help="YAML file adding channels to the table")

    f = sub.add_parser("failed", help="list the articles whose last attempt failed, with why",
                       description="One line per article the index holds as failed: URL, "
                       "channel, runs that tried, reason. A crawl of its channel retries it "
                       "(up to NEWSSPIDER_MAX_ATTEMPTS runs; --refresh retries it anyway). Exit "
                       "1 when any is listed.")  # fmt: skip
    f.add_argument("--output", "-o", metavar="DIR", default=DEFAULT_OUTPUT, help="output folder")
    f.add_argument("--json", action="store_true", help="one JSON object per article")

    t = sub.add_parser("templates", help="which page object made the archived posts (#18)",
                       description="Without --template: each template (the page-object family "
                       "that extracted the post: F, N, K, T, L3, L2, L1, M, or generic) with the "
                       "number of archived posts it made. With --template NAME: one line per post "
                       "it made (URL, channel, path), for example the posts the generic extractor "
                       "made while no page object knew their skin, which `crawl --refresh "
                       "--template generic` re-archives once one does.")  # fmt: skip
    t.add_argument("--template", metavar="NAME", help="list the posts this template made")
    t.add_argument("--output", "-o", metavar="DIR", default=DEFAULT_OUTPUT, help="output folder")
    t.add_argument("--json", action="store_true", help="one JSON object per line")


def _channels(args: argparse.Namespace) -> Any:
    from newsspider.archive.channels import ChannelError, load_channels
    from newsspider.errors import UsageError

    try:
        return load_channels(args.channels)
    except ChannelError as exc:
        raise UsageError(str(exc)) from exc


def cmd_index(args: argparse.Namespace) -> int:
    from newsspider.errors import EXIT_FAILED, EXIT_OK, UsageError

    if args.index_command == "failed":
        return _failed(args, EXIT_OK, EXIT_FAILED, UsageError)
    if args.index_command == "templates":
        return _templates(args, EXIT_OK, UsageError)
    if args.index_command == "import":
        return _import(args, EXIT_OK, EXIT_FAILED, UsageError)
    return _check(args, EXIT_OK, EXIT_FAILED, UsageError)


def _check(args: argparse.Namespace, ok: int, failed: int, usage: type[Exception]) -> int:
    from newsspider.archive.maintenance import check, repair

    output = Path(args.output)
    if not output.is_dir():
        raise usage(f"--output {output}: no such folder")
    problems = check(output)
    for problem in problems:
        print(problem, file=sys.stderr if args.repair else sys.stdout)
    if not args.repair:
        print(f"newsspider: index check: {len(problems)} problem(s)", file=sys.stderr)
        return failed if problems else ok
    try:
        notes = repair(output, _channels(args))
    except (OSError, sqlite3.Error) as exc:
        from newsspider.archive.index import fs_failure

        raise usage(
            f"index repair could not finish ({fs_failure(exc)[0]}); the index is as it was "
            "before: make room or fix the cause, then run it again"
        ) from None
    for note in notes:
        print(f"repaired: {note}")
    left = check(output)
    for problem in left:
        print(f"still: {problem}")
    print(f"newsspider: index repair: {len(problems)} problem(s) found, {len(left)} left",
          file=sys.stderr)  # fmt: skip
    return failed if left else ok


def _import(args: argparse.Namespace, ok: int, failed: int, usage: type[Exception]) -> int:
    from newsspider.archive.maintenance import import_posts

    source = Path(args.source)
    if not source.is_dir():
        raise usage(f"{source}: no such folder")
    try:
        report = import_posts(source, Path(args.output), _channels(args))
    except (OSError, sqlite3.Error) as exc:  # a full disk: every later post would fail too
        from newsspider.archive.index import fs_failure

        raise usage(f"index import stopped: {fs_failure(exc)[0]}; run it again once there is "
                    "room (what was imported stays imported)") from None  # fmt: skip
    for src, reason in report.skipped:
        print(f"skipped: {src}: {reason}", file=sys.stderr)
    print(f"newsspider: imported {len(report.imported)}, already imported "
          f"{len(report.already)}, skipped {len(report.skipped)}", file=sys.stderr)  # fmt: skip
    return failed if report.skipped else ok


def _failed(args: argparse.Namespace, ok: int, failed: int, usage: type[Exception]) -> int:
    import json

    from newsspider.archive.index import STATE_DIR, Index

    output = Path(args.output)
    if not (output / STATE_DIR / "index.sqlite3").is_file():
        raise usage(f"--output {output}: no archive index there")
    index = Index(output)
    try:
        rows = index.failed()
    finally:
        index.close()
    for rec in rows:
        if args.json:
            print(json.dumps({"url": rec.url, "key": rec.key, "channel": rec.channel,
                              "attempts": rec.attempts, "reason": rec.reason},
                             ensure_ascii=False))  # fmt: skip
        else:
            print(f"{rec.url}\t{rec.channel}\tattempts {rec.attempts}\t{rec.reason}")
    print(f"newsspider: index failed: {len(rows)} article(s)", file=sys.stderr)
    return failed if rows else ok


def _templates(args: argparse.Namespace, ok: int, usage: type[Exception]) -> int:
    """``index templates``: which page object made each archived post (the index's
    ``template``), so that posts of a skin no page object knew can be found and re-archived."""
    import json
    from collections import Counter

    from newsspider.archive.index import STATE_DIR, Index

    output = Path(args.output)
    if not (output / STATE_DIR / "index.sqlite3").is_file():
        raise usage(f"--output {output}: no archive index there")
    index = Index(output)
    try:
        posts = [rec for rec in index.records() if rec.path and rec.status != "failed"]
    finally:
        index.close()
    if args.template is None:
        counts = Counter(rec.template for rec in posts)
        for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            if args.json:
                print(json.dumps({"template": name, "posts": n}, ensure_ascii=False))
            else:
                print(f"{name or '(not recorded)'}\t{n}")
        print(f"newsspider: index templates: {len(posts)} post(s), {len(counts)} template(s)",
              file=sys.stderr)  # fmt: skip
        return ok
    chosen = [rec for rec in posts if rec.template == args.template]
    for rec in chosen:
        if args.json:
            print(json.dumps({"url": rec.url, "key": rec.key, "channel": rec.channel,
                              "path": rec.path, "template": rec.template, "title": rec.title},
                             ensure_ascii=False))  # fmt: skip
        else:
            print(f"{rec.url}\t{rec.channel}\t{rec.path}")
    print(f"newsspider: index templates: {len(chosen)} post(s) made by {args.template}",
          file=sys.stderr)  # fmt: skip
    return ok
