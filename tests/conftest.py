"""Shared fixtures: paths to the saved material, the loopback server, the newsspider command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from redisserver import redis_server, redis_url  # noqa: F401  (Redis fixtures, re-exported)
from server import http_server  # noqa: F401  (the loopback HTTP server fixture, re-exported)

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
GOLDEN = FIXTURES / "golden"
PROJECT = TESTS.parent


@dataclass
class GoldenCase:
    name: str
    dir: Path
    url: str
    channel: str
    expected_path: str

    @property
    def expected(self) -> bytes:
        return (self.dir / "expected.md").read_bytes()


def golden_cases() -> list[GoldenCase]:
    cases = []
    for d in sorted(GOLDEN.iterdir()):
        meta = json.loads((d / "case.json").read_text("utf-8"))
        cases.append(
            GoldenCase(d.name, d, meta["url"], meta.get("channel", "china"), meta["expected_path"])
        )
    return cases


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_newsspider(*args: str, cwd: Path | None = None, timeout: float = 120,
                   env: dict[str, str] | None = None) -> Run:  # fmt: skip
    """The real command line, in a fresh process (Scrapy's reactor cannot restart in-process);
    ``env``: variables to add (the test hooks')."""
    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning", **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-m", "newsspider.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or PROJECT,
        env=env,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def newsspider_cmd():
    return run_newsspider
