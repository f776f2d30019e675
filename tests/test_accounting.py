"""archived + updated + unchanged + failed = requested, whatever ends the crawl.

Real ``newsspider crawl``/``fetch`` runs (replayed, or offline for the network outage), each
ended a different way: ``--limit``, ``CLOSESPIDER_ITEMCOUNT``, pipelines that raise or drop,
a roll page the network never delivered. Each summary (line and ``--summary-json``) must add
up, every failure must have a reason line, and the exit status must follow from the ends.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from accountingkit import DROPS, RAISES
from rollreplay import ReplayBuilder, roll_body, roll_item, synthetic_article

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
T = 1672545600
SUMMARY = re.compile(r"newsspider: archived (\d+), updated (\d+), unchanged (\d+), failed (\d+)")
FAILED = re.compile(r"^failed: (\S+): (.+)$", re.MULTILINE)
ENDS = ("archived", "updated", "unchanged", "failed")


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(PROJECT), env.get("PYTHONPATH", "")])
    env.pop("NEWSSPIDER_TEST_CRASH", None)
    return env


def newsspider(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsspider.cli", *argv],
        capture_output=True, text=True, timeout=timeout, env=_env(), cwd=PROJECT, check=False,
    )  # fmt: skip


def listing(root: Path, numbers: list[int]) -> tuple[Path, dict[int, str]]:
    """A replay directory: channel china's page 1 lists these synthetic articles."""
    replay = ReplayBuilder(root / "replay")
    urls, items = {}, []
    for n in numbers:
        url, _, title, page = synthetic_article(n, when=T - n * 60)
        replay.add(url, page)
        items.append(roll_item(url, title, T - n * 60))
        urls[n] = url
    replay.add_roll("china", 1, roll_body(items))
    replay.add_roll("china", 2, roll_body([]))
    replay.write()
    return replay.dir, urls


def crawl(root: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    summary = root / "summary.json"
    proc = newsspider("crawl", "-o", str(root / "out"), "--summary-json", str(summary), *argv)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc, json.loads(summary.read_text("utf-8"))


def assert_adds_up(proc: subprocess.CompletedProcess[str], data: dict[str, Any]) -> None:
    """The invariant, in the JSON and on the summary line, with one reason line per failure."""
    counts = data["counts"]
    assert sum(counts[k] for k in ENDS) == counts["requested"], counts
    m = SUMMARY.search(proc.stderr)
    assert m, proc.stderr[-2000:]
    assert dict(zip(ENDS, map(int, m.groups()), strict=True)) == {k: counts[k] for k in ENDS}
    lines = FAILED.findall(proc.stderr)
    assert len(lines) == counts["failed"] == len(data["failures"])
    assert all(reason.strip() for _, reason in lines)
    assert proc.returncode == (1 if counts["failed"] else 0), proc.stderr[-2000:]


def posts(root: Path) -> list[Path]:
    return sorted((root / "out" / "_posts").rglob("*.md"))


def test_limit(tmp_path: Path) -> None:
    replay, _ = listing(tmp_path, list(range(900, 906)))
    proc, data = crawl(tmp_path, "--replay", str(replay), "--images", "off", "--limit", "3")
    assert_adds_up(proc, data)
    assert data["counts"]["requested"] == 3 and data["counts"]["archived"] == 3
    assert len(posts(tmp_path)) == 3


def test_closespider_itemcount(tmp_path: Path) -> None:
    """Closed by CLOSESPIDER_ITEMCOUNT with requests queued and in flight: the queued ones
    were never sent (withdrawn, counted as skipped, listed again by the next crawl), the sent
    ones end archived or failed with a reason; nothing is lost between the two."""
    replay, urls = listing(tmp_path, list(range(900, 930)))
    proc, data = crawl(tmp_path, "--replay", str(replay), "--images", "off",
                       "-s", "CLOSESPIDER_ITEMCOUNT=2", "-s", "CONCURRENT_REQUESTS=2")  # fmt: skip
    assert_adds_up(proc, data)
    counts, stats = data["counts"], data["stats"]
    assert data["finish_reason"] == "closespider_itemcount"
    assert counts["archived"] >= 2 and counts["archived"] == len(posts(tmp_path))
    withdrawn = stats.get("crawl/skipped_stopped", 0)
    assert withdrawn > 0 and counts["requested"] + withdrawn == len(urls)
    assert counts["skipped"] == withdrawn  # listed, never sent: counted apart
    # the next crawl completes what this one listed
    proc2, data2 = crawl(tmp_path, "--replay", str(replay), "--images", "off")
    assert_adds_up(proc2, data2)
    assert len(posts(tmp_path)) == len(urls)


def test_failing_pipelines(tmp_path: Path) -> None:
    """A pipeline that raises (not DropItem) and one that drops without a word: both articles
    fail with a reason and have no post; one raising after the post was written leaves the
    article archived (its first end), not counted twice."""
    replay, urls = listing(tmp_path, list(range(900, 906)))
    pipelines = json.dumps({
        "newsspider.crawl.pipelines.ArticlePipeline": 100,
        "accountingkit.ExplodingPipeline": 200,
        "newsspider.crawl.images.ImagesPipeline": 300,
        "newsspider.crawl.pipelines.ArchivePipeline": 800,
        "accountingkit.LateExplodingPipeline": 900,
    })  # fmt: skip
    proc, data = crawl(tmp_path, "--replay", str(replay), "--images", "off",
                       "-s", f"ITEM_PIPELINES={pipelines}")  # fmt: skip
    assert_adds_up(proc, data)
    failures = {f["url"]: f["reason"] for f in data["failures"]}
    by_id = {url.rsplit("doc-i", 1)[1].split(".")[0]: url for url in urls.values()}
    assert failures[by_id[RAISES]] == "pipeline error: ValueError: year 0 is out of range"
    assert failures[by_id[DROPS]] == "not wanted by a user pipeline"
    assert len(failures) == 2
    assert data["counts"]["archived"] == 4 == len(posts(tmp_path))
    names = " ".join(p.name for p in posts(tmp_path))
    assert "第902号" not in names and "第903号" not in names


def test_offline_fetch_one_line_network_reason(tmp_path: Path) -> None:
    """No network (every test machine): one ``failed: URL: network: ...`` line, the summary,
    no traceback, exit 1, in under a minute."""
    url = "https://finance.sina.com.cn/china/2023-01-01/doc-izzsyn000950.shtml"
    started = time.monotonic()
    proc = newsspider("fetch", url, "-o", str(tmp_path / "out"), timeout=90)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = FAILED.findall(proc.stderr)
    assert len(lines) == 1 and lines[0][0] == url
    assert lines[0][1].startswith("network: "), lines
    assert "Traceback" not in proc.stderr
    assert SUMMARY.search(proc.stderr).groups() == ("0", "0", "0", "1")  # type: ignore[union-attr]
    assert elapsed < 60, f"{elapsed:.1f} s"
    assert not posts(tmp_path)


def test_offline_crawl_is_a_network_failure_not_a_health_alarm(tmp_path: Path) -> None:
    """The roll page never answered: a failed request (requested 1, failed 1) with the reason
    ``network``, exit 1; the health alarm (exit 3) is for pages that answered."""
    proc, data = crawl(tmp_path, "--channel", "china")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert data["health"] == []
    assert "health" not in proc.stderr
    assert_adds_up(proc, data)
    (url, reason), = FAILED.findall(proc.stderr)  # fmt: skip
    assert url.startswith("https://feed.mix.sina.com.cn/api/roll/get?")
    assert reason.startswith("roll API: network: ")
    assert data["counts"]["requested"] == 1
