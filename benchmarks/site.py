"""How long a site made by ``newsspider site init`` takes to generate, and how much memory.

Why: the original archive was 19,000+ posts, and Hexo's memory grows with the archive (a stock
Hexo 7.3 site took 69 s and 1.2 GB for 5,000 posts). ``site init`` must write settings that let
20,000 posts generate on this project's machine (2 cores, 24 GB); this measures them.

For each size N it builds a replay directory of N articles (``benchmarks/crawl.py``'s builder:
copies of the real corpus and golden pages, each with its own doc id, title and date, and one to
three Pillow-made images), runs ``newsspider site init``, then the real ``newsspider crawl
--replay`` into ``SITE/source`` (compact body and local images, as the site records), links the
site's ``node_modules`` from the test cache (``tests/hexo.py``: ``npm ci`` of the site's own lock
file, once), and runs the site's ``npm run build`` (``node --max_old_space_size=... hexo
generate``) from a clean state, then once more with Hexo's cache (``db.json``) warm and nothing
changed. Wall time, CPU and peak RSS come from ``os.wait4`` on each child (the build script's
command is run directly, so the figures are Hexo's own node process).

Run: ``.venv/bin/python benchmarks/site.py [--sizes 5000,20000] [--work DIR]``; it prints one
line per step and a table, and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "benchmarks"))
sys.path.insert(0, str(PROJECT / "tests"))

import crawl as crawl_bench  # noqa: E402  (benchmarks/crawl.py: the replay builder)
import hexo  # noqa: E402  (tests/hexo.py: the cached npm install)


@dataclass
class Step:
    wall: float
    cpu: float
    peak_mb: float
    code: int


def run(cmd: list[str], cwd: Path, log: Path) -> Step:
    """Run ``cmd`` to the end; wall time, its own CPU and peak RSS (``wait4`` on the child)."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    return Step(wall, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))


def build_command(site: Path) -> list[str]:
    """The site's ``npm run build`` command, run directly (not through npm) so that ``wait4``
    measures Hexo's own node process."""
    script = json.loads((site / "package.json").read_text("utf-8"))["scripts"]["build"]
    return shlex.split(script)


def tree_size(folder: Path) -> tuple[int, int]:
    files = total = 0
    for path in folder.rglob("*"):
        if path.is_file():
            files += 1
            total += path.stat().st_size
    return files, total


def generate(site: Path, log_base: Path, n: int) -> dict[str, float]:
    """Clean ``npm run build`` of ``site``, then a second one with ``db.json`` warm."""
    for stale in ("public", "db.json"):
        target = site / stale
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    build = build_command(site)
    print(f"[{n}] generate: {' '.join(build)}", flush=True)
    first = run(build, site, log_base.with_name(log_base.name + "-1.log"))
    files, size = tree_size(site / "public")
    print(f"[{n}] generate (clean): exit {first.code}, {first.wall:.1f} s wall, "
          f"{first.cpu:.1f} s CPU, peak {first.peak_mb:.0f} MB; public/ {files} files, "
          f"{size / 1e6:.0f} MB", flush=True)  # fmt: skip
    second = run(build, site, log_base.with_name(log_base.name + "-2.log"))
    print(f"[{n}] generate (warm db.json, nothing changed): exit {second.code}, "
          f"{second.wall:.1f} s wall, {second.cpu:.1f} s CPU, peak {second.peak_mb:.0f} MB",
          flush=True)  # fmt: skip
    posts = sum(1 for _ in (site / "public").glob("[0-9][0-9][0-9][0-9]/*/*/*/index.html"))
    db = (site / "db.json").stat().st_size if (site / "db.json").exists() else 0
    return {
        "post_pages": posts,
        "gen_s": first.wall,
        "gen_cpu_s": first.cpu,
        "gen_peak_mb": first.peak_mb,
        "gen_code": first.code,
        "warm_s": second.wall,
        "warm_cpu_s": second.cpu,
        "warm_peak_mb": second.peak_mb,
        "public_files": files,
        "public_mb": size / 1e6,
        "db_json_mb": db / 1e6,
    }


def measure(n: int, work: Path) -> dict[str, float]:
    base = work / f"n{n}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    t0 = time.perf_counter()
    held = crawl_bench.build_replay(base / "replay", n)
    print(f"[{n}] replay built in {time.perf_counter() - t0:.0f} s ({held})", flush=True)
    site = base / "site"
    py = [sys.executable, "-m", "newsspider.cli"]
    init = run([*py, "site", "init", str(site)], PROJECT, base / "init.log")
    assert init.code == 0, (base / "init.log").read_text()
    pages = math.ceil(n / crawl_bench.PAGE_SIZE)
    crawl = run(
        [*py, "crawl", "--replay", str(base / "replay"), "--pages", str(pages), "--output",
         str(site / "source"), "--summary-json", str(base / "summary.json")],
        PROJECT, base / "crawl.log",
    )  # fmt: skip
    summary = json.loads((base / "summary.json").read_text("utf-8"))
    print(f"[{n}] crawl: exit {crawl.code}, {crawl.wall:.0f} s, counts {summary['counts']}",
          flush=True)  # fmt: skip
    hexo.ensure_site_modules(site)
    return {
        "n": n,
        "archived": int(summary["counts"].get("archived", 0)),
        "crawl_s": crawl.wall,
        **generate(site, base / "generate", n),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,20000", help="post counts (default 5000,20000)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the sites built")
    parser.add_argument("--existing", type=Path, metavar="SITE",
                        help="only generate SITE (a site already crawled, e.g. one kept by "
                        "--keep), clean then warm")  # fmt: skip
    args = parser.parse_args()
    if args.existing:
        site = args.existing.resolve()
        n = sum(1 for _ in (site / "source" / "_posts").rglob("*.md"))
        hexo.ensure_site_modules(site)
        r = {"n": n, "crawl_s": float("nan"), **generate(site, site.parent / "generate", n)}
        _table([r])
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="newsspider-site-bench-"))
    results = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            results.append(measure(n, work))
            if not args.keep:
                shutil.rmtree(work / f"n{n}", ignore_errors=True)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    _table(results)


def _table(results: list[dict[str, float]]) -> None:
    print()
    print("| posts | post pages | crawl | generate (clean) | CPU | peak RSS | generate (warm) "
          "| public/ | db.json |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['n']:,} | {r['post_pages']:,} | {r['crawl_s']:.0f} s | {r['gen_s']:.0f} s "
              f"(exit {r['gen_code']}) | {r['gen_cpu_s']:.0f} s | {r['gen_peak_mb']:,.0f} MB | "
              f"{r['warm_s']:.0f} s | {r['public_files']:,} files, {r['public_mb']:,.0f} MB | "
              f"{r['db_json_mb']:,.0f} MB |")  # fmt: skip


if __name__ == "__main__":
    main()
