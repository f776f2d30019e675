"""mypy, with the project's own configuration (pyproject.toml [tool.mypy]), finds nothing in the
package: type hints are a standard of the project, and hints no checker reads drift into lies.

The whole package, every error: no baseline, no per-file exceptions. mypy keeps its cache in
.mypy_cache (ignored by git), so a second run takes a second or two.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_error_in_the_package() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "newsspider"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.stdout.startswith("Success: no issues found"), proc.stdout
