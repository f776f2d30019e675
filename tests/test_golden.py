"""The foundation: every golden case through the real command line, byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import GoldenCase, golden_cases, run_newsspider

CASES = golden_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case_byte_exact_and_idempotent(case: GoldenCase, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("fetch", case.url, "--replay", str(case.dir), "--images", "remote",
            "--channel", case.channel, "--output", str(out))  # fmt: skip
    first = run_newsspider(*args)
    assert first.returncode == 0, first.stderr
    post = out / case.expected_path
    assert post.read_bytes() == case.expected
    assert "archived 1" in first.stderr.splitlines()[-1]
    posts = [p for p in (out / "_posts").rglob("*") if p.is_file()]
    assert posts == [post], "exactly one post, at the expected path"

    before = os.stat(post).st_mtime_ns
    second = run_newsspider(*args)
    assert second.returncode == 0, second.stderr
    assert post.read_bytes() == case.expected
    assert os.stat(post).st_mtime_ns == before, "an unchanged article is not rewritten"
    assert "unchanged 1" in second.stderr.splitlines()[-1]
    leftovers = [p.name for p in out.rglob("*.tmp")]
    assert leftovers == []


def test_scrapy_crawl_article_is_the_same_path(tmp_path: Path) -> None:
    """``scrapy crawl article -a url=...`` runs the same spider and pipelines."""
    import subprocess
    import sys

    case = CASES[0]
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "article", "-a", f"url={case.url}",
         "-a", f"channel={case.channel}", "-s", f"NEWSSPIDER_REPLAY_DIR={case.dir}",
         "-s", "NEWSSPIDER_IMAGES=remote", "-s", f"NEWSSPIDER_OUTPUT={out}",
         "-s", "LOG_LEVEL=INFO"],
        cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / case.expected_path).read_bytes() == case.expected
