"""``newsspider schedule --every DURATION [crawl options]``: crawl again and again, one round at a
time, until stopped.

Each round is ``newsspider crawl`` with the same options, run in a child process. Scrapy's
reactor cannot restart in-process; running the rounds one after another on one reactor
(``AsyncCrawlerRunner``, Scrapy's "run spiders sequentially" recipe) would work, but a child per
round is the robust choice for a process meant to run for weeks:

- every round starts clean: no state, caches, signal handlers or leaked memory carried from the
  last one (Scrapy, lxml and the page objects were not written for a process that lives for
  months), and settings are read afresh;
- a round that crashes, hangs in C code or is killed by the OOM killer costs that round, not the
  scheduler: the next round starts on time and completes what the broken one listed (the run
  state in ``.newsspider/run.json``);
- a round is exactly ``crawl``: same code path, same exit statuses, same summary, so what a user
  tested by hand is what runs unattended.

The cost is about a second of start-up per round, nothing next to a crawl.

``--rounds N`` without ``--every`` runs N rounds back to back (each starts when the last one
ended): a batch, e.g. a first backfill that needs several passes. A bounded run (``--rounds``)
exits with the status of its rounds by the usual precedence (2 > 3 > 1 > 0), as ``crawl``
would; a scheduler that runs until stopped exits 0 once stopped cleanly (its rounds' statuses
are in its log), since a service stopped by SIGTERM has not failed.

The scheduler takes the output folder's lock for its whole life and hands the locked descriptor
to each round (:mod:`newsspider.archive.lock`), so neither a second scheduler nor a manual crawl
can write the same folder meanwhile. Rounds never overlap: the next one starts ``--every`` after
the last one *started*, or at once if that one took longer (missed rounds are not caught up).

SIGINT or SIGTERM stops it cleanly: a running round is passed the signal (Scrapy then finishes
the requests in flight and closes; with ``--jobdir`` its queue is kept for the next round) and
the scheduler exits 0 once it has ended. A second signal is passed on too, which makes Scrapy
stop at once (posts are still written atomically). Rounds run in their own process group, so a
Ctrl-C in the terminal reaches the round only through the scheduler, once.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from newsspider.commands.crawl import add_crawl_options, check_window, crawl_arguments
from newsspider.crawl.options import positive_int

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.I)
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
#: options of ``schedule`` itself, not passed on to the rounds (name -> takes a value)
_OWN_OPTIONS = {"--every": True, "--rounds": True}


def parse_duration(text: str) -> float:
    """``90s``, ``5m``, ``1h``, ``1d`` or plain seconds -> seconds."""
    m = _DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (like 90s, 5m, 1h)")
    seconds = float(m.group(1)) * _UNIT[(m.group(2) or "s").lower()]
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be longer than zero")
    return seconds


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("schedule", cmd_schedule,
            "crawl every DURATION until stopped (one process, one round at a time)")  # fmt: skip
    p.add_argument("--every", type=parse_duration, metavar="DURATION",
                   help="start a round this long after the last one started: 90s, 5m, 1h, 1d "
                   "(the first round starts at once); without it, --rounds N runs N rounds "
                   "back to back")  # fmt: skip
    p.add_argument("--rounds", type=positive_int, metavar="N",
                   help="stop after N rounds and exit with their status (2 > 3 > 1 > 0); "
                   "default: run until SIGINT or SIGTERM, then exit 0")  # fmt: skip
    add_crawl_options(p, common)


def round_argv(argv: list[str]) -> list[str]:
    """The command line of one round: ``schedule``'s own words replaced by ``crawl``."""
    out: list[str] = []
    words = iter(argv)
    replaced = False
    for word in words:
        if not replaced and word == "schedule":
            out.append("crawl")
            replaced = True
            continue
        name = word.split("=", 1)[0]
        if name in _OWN_OPTIONS:
            if "=" not in word and _OWN_OPTIONS[name]:
                next(words, None)
            continue
        out.append(word)
    return out if replaced else ["crawl", *out]


def _validate(args: argparse.Namespace) -> Any:
    """What ``crawl`` would refuse, refused before the first round (exit 2, nothing started)."""
    from newsspider.crawl import options
    from newsspider.crawl.run import settings_for as _settings
    from newsspider.crawl.run import writable_output as _writable_output
    from newsspider.errors import UsageError

    if args.every is None and args.rounds is None:
        raise UsageError("give --every DURATION (rounds until stopped) or --rounds N "
                         "(N rounds back to back), or both")  # fmt: skip
    check_window(args)
    settings = _settings(args)
    crawl_arguments(args, settings)  # what the rounds' crawls would refuse
    if args.summary_json:
        options.writable_file(args.summary_json, "--summary-json")
    _writable_output(settings)
    return settings


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} newsspider schedule: {message}",
          file=sys.stderr, flush=True)  # fmt: skip


def _round_summary(path: Path) -> tuple[str, list[str]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return "no summary", []
    counts = data.get("counts") or {}
    line = ", ".join(f"{k} {v}" for k, v in counts.items())
    return line, list(data.get("health") or [])


class Scheduler:
    """The round loop and its signal handling; see the module docstring."""

    def __init__(self, argv: list[str], every: float | None, rounds: int | None,
                 env: dict[str, str], lock_fd: int, summary: Path) -> None:  # fmt: skip
        self.argv = argv
        self.every = every
        self.rounds = rounds
        self.env = env
        self.lock_fd = lock_fd
        self.summary = summary
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        child = self.child
        if child is not None and child.poll() is None:
            if not self.stopping:
                _log(f"{name}: stopping after the running round (it is told to finish now)")
            child.send_signal(signum)  # a second one makes Scrapy stop at once
        elif not self.stopping:
            _log(f"{name}: stopping")
        self.stopping = True

    def run(self) -> int:
        from newsspider.errors import EXIT_FAILED, EXIT_HEALTH, EXIT_OK, EXIT_USAGE

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        done = 0
        worst = EXIT_OK  # by precedence: 2 > 3 > 1 > 0
        rank = {EXIT_OK: 0, EXIT_FAILED: 1, EXIT_HEALTH: 2, EXIT_USAGE: 3}
        while not self.stopping:
            done += 1
            started = time.monotonic()
            _log(f"round {done} starting")
            self.summary.unlink(missing_ok=True)
            self.child = subprocess.Popen(
                [sys.executable, "-m", "newsspider.cli", *self.argv],
                env=self.env,
                pass_fds=(self.lock_fd,) if self.lock_fd >= 0 else (),
                start_new_session=True,  # a terminal's Ctrl-C reaches it through us, once
            )
            if self.stopping:  # a signal that came while the round was being started
                self.child.send_signal(signal.SIGTERM)
            code = self.child.wait()
            self.child = None
            counts, health = _round_summary(self.summary)
            meaning = {0: "ok", 1: "some articles failed", 2: "usage error",
                       3: "health alarm"}.get(code, f"killed by signal {-code}" if code < 0
                                              else "error")  # fmt: skip
            _log(f"round {done} ended in {time.monotonic() - started:.1f}s, exit {code} "
                 f"({meaning}): {counts}")  # fmt: skip
            if code == EXIT_HEALTH:
                for warning in health:
                    _log(f"round {done}: warning: health: {warning}")
            if code == EXIT_USAGE and done == 1:
                return EXIT_USAGE  # a configuration the rounds will never get past
            # a round killed by a signal (or crashed) did not do its work: counted as failed
            status = code if code in rank else EXIT_FAILED
            worst = max(worst, status, key=rank.__getitem__)
            if self.rounds is not None and done >= self.rounds:
                break
            wake = started + (self.every or 0.0)
            if not self.stopping:
                _log(f"next round in {max(0.0, wake - time.monotonic()):.0f}s")
            while not self.stopping and time.monotonic() < wake:
                time.sleep(min(0.25, max(0.0, wake - time.monotonic())))
        _log(f"stopped after {done} round(s)")
        return worst if self.rounds is not None else EXIT_OK


def cmd_schedule(args: argparse.Namespace) -> int:
    from newsspider.archive.index import STATE_DIR
    from newsspider.archive.lock import INHERIT_ENV, LockBusy, OutputLock
    from newsspider.crawl.run import output_folder
    from newsspider.errors import UsageError

    settings = _validate(args)
    output = output_folder(settings)
    argv = round_argv(list(getattr(args, "argv", None) or sys.argv[1:]))
    summary = Path(args.summary_json) if args.summary_json else output / STATE_DIR / "round.json"
    if not args.summary_json:
        argv += ["--summary-json", str(summary)]
    lock = OutputLock(output, "newsspider schedule")
    try:
        lock.acquire()
    except LockBusy as exc:
        raise UsageError(str(exc)) from None
    env = dict(os.environ)
    if lock.fd is not None:
        env[INHERIT_ENV] = str(lock.fd)
    try:
        pace = f"every {args.every:g}s" if args.every else "rounds back to back"
        _log(f"{pace} into {output}: {' '.join(argv)}")
        return Scheduler(argv, args.every, args.rounds, env, lock.fd or -1, summary).run()
    finally:
        lock.release()
