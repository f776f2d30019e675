"""The add-on makes ``scrapy crawl sina`` a newsspider crawl: the same archive as ``newsspider
crawl``, the same refusals (one line, no traceback), the health alarm as a log line, a stat and
the summary file. Real Scrapy engine, in subprocesses, over replays."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT, run_newsspider
from rollreplay import ReplayBuilder, golden_cases, roll_body, roll_item, unix

from newsspider.archive.lock import OutputLock

GOLDEN = {g.name: g for g in golden_cases()}
BASE_TIME = unix("2023-01-01 12:00:00")


def golden_replay(directory: Path, *, empty: bool = False) -> Path:
    b = ReplayBuilder(directory)
    items = []
    for i, g in enumerate(sorted(GOLDEN.values(), key=lambda g: g.name)):
        ctime = BASE_TIME - i * 60
        items.append(roll_item(g.url, g.name, ctime, ctime + 300))
        b.add(g.url, g.html)
    b.add_roll("china", 1, roll_body([] if empty else items))
    return b.write()


def scrapy_crawl(
    out: Path, replay: Path, *settings: str, cwd: Path = PROJECT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    words = [sys.executable, "-m", "scrapy", "crawl", "sina", "-a", "channel=china",
             "-s", f"NEWSSPIDER_REPLAY_DIR={replay}", "-s", f"NEWSSPIDER_OUTPUT={out}",
             "-s", "NEWSSPIDER_IMAGES=remote", "-s", "LOG_LEVEL=WARNING"]  # fmt: skip
    for setting in settings:
        words += ["-s", setting]
    return subprocess.run(
        words,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning", **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def archive_files(out: Path) -> dict[str, bytes]:
    """Every post and image, by path: the archive a reader sees."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".newsspider" not in p.relative_to(out).parts
    }


def test_scrapy_crawl_and_newsspider_crawl_make_the_same_archive(tmp_path: Path) -> None:
    replay = golden_replay(tmp_path / "replay")
    cli = run_newsspider("crawl", "--replay", str(replay), "-o", str(tmp_path / "cli"),
                         "--images", "remote", "--channel", "china")  # fmt: skip
    assert cli.returncode == 0, cli.stderr[-3000:]
    scrapy = scrapy_crawl(tmp_path / "scrapy", replay)
    assert scrapy.returncode == 0, scrapy.stderr[-3000:]
    made = archive_files(tmp_path / "cli")
    assert len([p for p in made if p.startswith("_posts/")]) == len(GOLDEN)
    assert archive_files(tmp_path / "scrapy") == made
    for g in GOLDEN.values():
        assert made[g.expected_path] == g.expected, g.name
    assert "Traceback" not in scrapy.stderr


def test_scrapy_crawl_into_a_locked_folder_writes_nothing_and_says_why(tmp_path: Path) -> None:
    replay = golden_replay(tmp_path / "replay")
    out = tmp_path / "out"
    with OutputLock(out, "newsspider schedule"):
        run = scrapy_crawl(out, replay)
    assert not (out / "_posts").exists()
    assert not (out / ".newsspider" / "index.sqlite3").exists()
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if "in use" in line]
    assert len(lines) == 1, run.stderr[-3000:]
    assert "could not start" in lines[0] and "newsspider schedule" in lines[0]


def test_scrapy_crawl_onto_a_damaged_index_is_one_error_line(tmp_path: Path) -> None:
    replay = golden_replay(tmp_path / "replay")
    out = tmp_path / "out"
    (out / ".newsspider").mkdir(parents=True)
    (out / ".newsspider" / "index.sqlite3").write_bytes(b"not a database at all" * 100)
    run = scrapy_crawl(out, replay)
    assert run.returncode == 1  # Scrapy's own status for a crawl that could not start
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, run.stderr[-3000:]
    assert "damaged" in errors[0] and "index check --repair" in errors[0]
    assert not (out / "_posts").exists()


def test_scrapy_crawl_onto_a_damaged_replay_is_one_error_line(tmp_path: Path) -> None:
    replay = golden_replay(tmp_path / "replay")
    (replay / "MANIFEST.tsv").write_text("this is\tnot a manifest\n", "utf-8")
    run = scrapy_crawl(tmp_path / "out", replay)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "could not start" in errors[0], run.stderr[-3000:]


def test_scrapy_crawl_health_alarm_is_a_log_line_a_stat_and_the_summary_file(
    tmp_path: Path,
) -> None:
    replay = golden_replay(tmp_path / "replay", empty=True)  # the roll feed lists nothing
    summary = tmp_path / "summary.json"
    run = scrapy_crawl(tmp_path / "out", replay, f"NEWSSPIDER_SUMMARY_JSON={summary}",
                       "LOG_LEVEL=INFO")  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]  # Scrapy has no status for it
    assert "health: channel china: the roll feed yielded no items" in run.stderr
    assert "'newsspider/health_alarm': 1" in run.stderr  # Scrapy's stats dump
    data = json.loads(summary.read_text("utf-8"))
    assert data["health"] == ["channel china: the roll feed yielded no items (failing: roll "
                              "list data)"]  # fmt: skip
    assert data["stats"]["newsspider/health_alarm"] == 1
    assert data["channels"] == ["china"] and data["counts"]["requested"] == 0
    # the same replay through the newsspider command: exit 3, the same summary
    cli_summary = tmp_path / "cli.json"
    cli = run_newsspider("crawl", "--replay", str(replay), "-o", str(tmp_path / "cli"),
                         "--summary-json", str(cli_summary))  # fmt: skip
    assert cli.returncode == 3, cli.stderr[-3000:]
    assert json.loads(cli_summary.read_text("utf-8"))["health"] == data["health"]


def test_scrapy_crawl_outside_the_project_with_the_settings_module(tmp_path: Path) -> None:
    """README: ``SCRAPY_SETTINGS_MODULE=newsspider.settings`` anywhere (no scrapy.cfg)."""
    replay = golden_replay(tmp_path / "replay")
    run = scrapy_crawl(tmp_path / "out", replay, cwd=tmp_path,
                       env={"SCRAPY_SETTINGS_MODULE": "newsspider.settings"})  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(list((tmp_path / "out" / "_posts").rglob("*.md"))) == len(GOLDEN)
