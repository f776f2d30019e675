"""A site made by ``site init`` generates under a low limit on open files.

Why: Hexo 7 reads every source file at once through ``fs.promises`` (no EMFILE retry), so an
archive the size of the original (20,000 posts, 40,000 images) stopped with "EMFILE: too many
open files" (benchmarks/site.py found it). The theme's ``scripts/open-files.js`` queues and
retries those reads. Here 400 posts and 400 images against a limit of 64 descriptors show it,
with the script removed as the negative control.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import hexo
import pytest
from conftest import golden_cases, run_newsspider

from newsspider import extract
from newsspider.archive.channels import load_channels
from newsspider.archive.store import Archive

pytestmark = pytest.mark.hexo

POSTS = 400
FD_LIMIT = 64


def _site(root: Path) -> Path:
    site = root / "site"
    assert run_newsspider("site", "init", str(site)).returncode == 0
    case = next(c for c in golden_cases() if c.name == "cpi-jan-apr-noimg")
    base = extract(case.url, (case.dir / "article.html").read_bytes())
    archive = Archive(site / "source", channels=load_channels(), images="local", compact=True)
    try:
        for i in range(POSTS):
            archive.save(dataclasses.replace(
                base, title=f"第{i}篇 {base.title}", doc_id=f"scale{i:05d}",
                url=f"https://finance.sina.com.cn/china/2022-05-16/doc-iscale{i:05d}.shtml",
                created_at=base.created_at + timedelta(minutes=i) if base.created_at else None,
            ))  # fmt: skip
    finally:
        archive.close()
    images = site / "source" / "images" / "n.sinaimg.cn" / "scale"
    images.mkdir(parents=True)
    png = next((Path(__file__).parents[1] / "examples" / "sample-crawl" / "images").glob("*.png"))
    for i in range(POSTS):
        shutil.copyfile(png, images / f"{i:05d}.png")
    hexo.ensure_site_modules(site)
    return site


def _generate_with_fd_limit(site: Path) -> subprocess.CompletedProcess[str]:
    for stale in ("public", "db.json"):
        path = site / stale
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))

    env = dict(os.environ, NO_COLOR="1")
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        ["node", "node_modules/hexo/bin/hexo", "generate"], cwd=site, env=env,
        capture_output=True, text=True, timeout=600, check=False, preexec_fn=limit,
    )  # fmt: skip


def test_generates_under_a_low_open_file_limit(tmp_path: Path) -> None:
    site = _site(tmp_path)
    done = _generate_with_fd_limit(site)
    result = hexo.HexoResult(done.returncode, done.stdout, done.stderr, site / "public")
    hexo.assert_clean(result)
    assert len(hexo.post_pages(site / "public")) == POSTS
    assert len(list((site / "public" / "images").rglob("*.png"))) == POSTS

    # negative control: without the theme's script, Hexo runs out of descriptors
    (site / "themes" / "newsspider" / "scripts" / "open-files.js").unlink()
    broken = _generate_with_fd_limit(site)
    assert "EMFILE" in broken.stdout + broken.stderr
