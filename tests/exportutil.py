"""Helpers shared by the export and search tests: replayed channel crawls and their exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import run_newsspider
from rollreplay import ReplayBuilder, golden_cases, roll_body, roll_item, synthetic_article, unix

GOLDEN = {g.name: g for g in golden_cases()}
BASE_TIME = unix("2023-01-01 12:00:00")
#: synthetic articles (the seed's markup, other doc ids/titles/dates) added to the golden ones
N_SYNTHETIC = 6


def channel_replay(directory: Path, *, synthetic: int = N_SYNTHETIC,
                   mtime_bump: dict[str, int] | None = None) -> ReplayBuilder:  # fmt: skip
    """One roll page of the china channel listing every golden case and ``synthetic`` variants
    of the seed; ``mtime_bump`` makes the roll say a golden article changed since."""
    b = ReplayBuilder(directory)
    items = []
    for i, g in enumerate(GOLDEN.values()):
        ctime = BASE_TIME - i * 60
        mtime = ctime + 300 + (mtime_bump or {}).get(g.name, 0)
        items.append(roll_item(g.url, g.name, ctime, mtime))
        b.add(g.url, g.html)
    for n in range(synthetic):
        ctime = BASE_TIME - 86_400 * (n + 1)
        url, _, title, html = synthetic_article(n, when=ctime)
        b.add(url, html)
        items.append(roll_item(url, title, ctime))
    b.add_roll("china", 1, roll_body(items))
    return b


def crawl(replay: Path, out: Path, *args: str) -> Any:
    run = run_newsspider("crawl", "--replay", str(replay), "-o", str(out), "--images", "remote",
                         *args)  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    return run


def export(out: Path, *args: str) -> list[dict[str, Any]]:
    run = run_newsspider("export", "--format", "jsonl", "-o", str(out), *args)
    assert run.returncode == 0, run.stderr[-4000:]
    return [json.loads(line) for line in run.stdout.splitlines()]


def search(out: Path, *args: str) -> str:
    """stdout of ``newsspider search`` (highlights are ``**`` when not on a terminal)."""
    run = run_newsspider("search", "-o", str(out), "--limit", "100", *args)
    assert run.returncode == 0, run.stderr[-4000:]
    return run.stdout


def result_paths(stdout: str) -> list[str]:
    """The post paths a search printed, in order (the indented line after each title)."""
    return [line.strip() for line in stdout.splitlines() if line.startswith("  _posts/")]
