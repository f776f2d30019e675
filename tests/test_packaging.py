"""The package as users get it: the wheel built from the repository, installed into a fresh
venv, runs the README's sample crawl from another folder; its metadata says what is true.

Offline and under a minute: the wheel is built without build isolation (setuptools from the
test extra) and installed with ``--no-deps``; the fresh venv reaches the dependencies already
installed here through a ``.pth`` line, so nothing comes from an index. A ``.pth`` line adds a
folder, not its ``.pth`` files, so this venv's editable install of the source tree does not
leak in: ``newsspider`` can only be imported from the wheel.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import site
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PROJECT = Path(__file__).resolve().parent.parent
README = (PROJECT / "README.md").read_text("utf-8")
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text("utf-8"))["project"]


def _sh(*argv: str | Path, cwd: Path | None = None, timeout: float = 180) -> str:
    """Run outside the source tree, without PYTHONPATH: only the installed package counts."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          cwd=cwd or Path(tempfile.gettempdir()), env=env, timeout=timeout,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, (
        f"{argv}: {proc.returncode}\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    )
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the repository's files (the tree stays clean)."""
    tmp = tmp_path_factory.mktemp("pkg")
    source = tmp / "src"
    shutil.copytree(
        PROJECT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "output",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".pytest_cache",
            ".ruff_cache",
            ".hypothesis",
            "node_modules",
        ),
    )
    dist = tmp / "dist"
    _sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "-q", source, "-w", dist, cwd=tmp)  # fmt: skip
    (found,) = dist.glob("newsspider-*.whl")
    return found


def test_the_wheel_says_what_is_true(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_bytes(zf.read(meta_name))
    assert meta["Version"] == PYPROJECT["version"] == "0.2.0"
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "Typing :: Typed" in (meta.get_all("Classifier") or [])
    for data in (
        "newsspider/py.typed",
        "newsspider/archive/channels.yaml",
        "newsspider/__main__.py",
    ):
        assert data in names, data
    # every runtime (and redis extra) floor is the version constraints-min.txt pins, so the
    # floors .ci/run tests are the floors the metadata declares
    pins = {
        name.strip().lower(): pinned.strip()
        for name, _, pinned in (
            line.partition("==")
            for line in (PROJECT / "constraints-min.txt").read_text("utf-8").splitlines()
            if "==" in line and not line.lstrip().startswith("#")
        )
    }
    floors: dict[str, str] = {}
    for text in meta.get_all("Requires-Dist") or []:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": "redis"}):
            continue  # test and bench extras: tools, not what the package runs on
        for spec in req.specifier:
            if spec.operator == ">=":
                floors[canonicalize_name(req.name)] = spec.version
    for name in ("scrapy", "twisted", "w3lib", "lxml", "pillow", "pyyaml", "warcio",
                 "itemadapter", "python-frontmatter", "scrapy-redis", "redis"):  # fmt: skip
        assert name in floors, f"{name}: no declared floor"
    for name, floor in floors.items():
        assert name in pins, f"{name}: a floor constraints-min.txt does not pin"
        assert Version(pins[name]) == Version(floor), (name, pins[name], floor)


def test_the_installed_wheel_runs_the_readme_sample_crawl_elsewhere(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _sh(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _sh(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "-q", wheel)  # fmt: skip
    purelib = Path(
        _sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    # the dependencies: this venv's, reached by a path line (no index needed)
    (purelib / "zz-test-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", "utf-8"
    )
    where = _sh(python, "-c", "import newsspider; print(newsspider.__file__)", cwd=tmp_path)
    where = where.strip()
    assert Path(where).is_relative_to(venv), f"newsspider imported from {where}, not the wheel"
    version = _sh(venv / "bin" / "newsspider", "--version").strip()
    assert version == f"newsspider {PYPROJECT['version']}"
    assert _sh(python, "-m", "newsspider", "--version").strip() == version

    # the README's command, word for word, in a folder that holds only what it names
    (command,) = re.findall(r"&& (newsspider crawl --replay [^\n`]+)", README)
    words = command.split()
    replay = words[words.index("--replay") + 1]
    output = words[words.index("--output") + 1]
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(PROJECT / replay, elsewhere / replay)
    _sh(venv / "bin" / "newsspider", *words[1:], cwd=elsewhere)
    posts = sorted((elsewhere / output / "_posts").rglob("*.md"))
    assert len(posts) == 5
    assert all("---\ntitle: " in p.read_text("utf-8")[:20] for p in posts)
