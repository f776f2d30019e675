"""The layers of #16 hold: ``lint-imports`` checks the contracts in ``pyproject.toml`` (no
import that climbs, siblings apart, Scrapy/Twisted/scrapy-redis only in the top two layers)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT

LINT = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")


def lint(*config: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT, "--no-cache", *(["--config", config[0]] if config else [])],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_package_keeps_its_layers() -> None:
    run = lint()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in run.stdout


def test_a_broken_contract_fails(tmp_path: Path) -> None:
    """The check can fail: the archive importing the crawl would climb the layers."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "newsspider"\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "upside down"\ntype = "layers"\n'
        'layers = ["newsspider.archive", "newsspider.crawl"]\n',
        "utf-8",
    )
    run = lint(str(config))
    assert run.returncode != 0
    assert "newsspider.crawl is not allowed to import newsspider.archive" in run.stdout
