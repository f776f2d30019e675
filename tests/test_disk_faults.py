"""File-system faults as clean failures, through the real ``newsspider`` command: a disk that
fills up mid-crawl (a real 2 MB tmpfs), a read-only output, a file where the folder should be,
names too long for the file system, and the temp files of killed writers.

What "clean" means here: one line per failed article and one summary line, no traceback at the
default log level, the exit status of ``docs/exit-status.md``, counts that add up, nothing
partial left on disk, and a next run that completes and records what this one could not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultcrawl import HTML, Site, cli, command, path_of, run, temp_files
from rollreplay import BEIJING, SEED, SEED_CREATE_AT, SEED_DOCID, SEED_TITLE
from server import LocalHTTPServer, Route

from newsspider.archive.index import STATE_DIR

MOUNTABLE = os.geteuid() == 0 and sys.platform.startswith("linux")


def default_level(argv: list[str]) -> list[str]:
    """The command as a user runs it: without the tests' ``--log-level INFO``."""
    out = list(argv)
    i = out.index("--log-level")
    del out[i : i + 2]
    return out


def posts(out: Path) -> list[Path]:
    return sorted((out / "_posts").rglob("*.md")) if (out / "_posts").exists() else []


def mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                   check=True, capture_output=True)  # fmt: skip


def umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (root only: the tests run as root in CI and here)."""
    if not MOUNTABLE:
        pytest.fail("these tests mount a tmpfs and need root on Linux")
    where = tmp_path / "small-disk"
    mount_tmpfs(where, "2m")
    try:
        yield where
    finally:
        umount(where)


def summary(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


# --- a disk that fills up ---


def test_disk_full_mid_crawl_fails_cleanly_and_the_next_run_completes(
    tmpfs: Path, tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    n = 40
    site = Site(http_server, n, per_page=10)
    out = tmpfs / "out"
    summary_file = tmp_path / "summary.json"
    argv = default_level(command(http_server, "crawl", out, "--summary-json", str(summary_file)))
    started = time.monotonic()
    done = run(argv, timeout=120)
    assert time.monotonic() - started < 60
    # exit 1: some articles failed for want of space; the crawl stopped early
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "Error processing" not in done.stderr
    assert len(done.stderr) < 8000, len(done.stderr)  # was 380 KB of item dumps
    lines = done.stderr.strip().splitlines()
    failed_lines = [x for x in lines if x.startswith("failed: ")]
    other = [x for x in lines if not x.startswith("failed: ")]
    assert all(x.startswith("newsspider: ") for x in other), other
    assert any("disk-full" in x for x in other)  # "crawl stopped before the end (disk-full)"

    s = summary(summary_file)
    counts = s["counts"]
    assert s["finish_reason"] == "disk-full"
    ended = counts["archived"] + counts["updated"] + counts["unchanged"] + counts["failed"]
    assert ended == counts["requested"] <= n
    assert counts["failed"] >= 1 and counts["archived"] >= 1
    assert len(failed_lines) == counts["failed"] == len(s["failures"])
    reasons = [f["reason"] for f in s["failures"]]
    assert all("disk-full" in r for r in reasons), reasons
    assert reasons.count("disk-full") >= 1
    assert len(posts(out)) == counts["archived"]
    assert temp_files(out) == []  # no half-written post or image left

    # a failure the full disk refused at first is recorded (at the close, in the space the
    # crawl kept for it), so `index failed` lists it with its reason
    listed = run(cli("index", "failed", "-o", str(out), "--json"))
    assert listed.returncode == 1, listed.stderr
    rows = [json.loads(x) for x in listed.stdout.splitlines()]
    assert rows and {r["reason"] for r in rows} == {"disk-full"}
    assert {r["url"] for r in rows} <= {f["url"] for f in s["failures"]}

    # room again: the next crawl archives everything that is missing, once
    subprocess.run(["mount", "-o", "remount,size=40m", str(tmpfs)], check=True)
    again = run(default_level(command(http_server, "crawl", out)), timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    names = [p.name for p in posts(out)]
    assert len(names) == n and len(set(names)) == n
    assert not any(" (" in name for name in names)  # never a second copy of an article
    assert temp_files(out) == []
    assert run(cli("index", "failed", "-o", str(out))).returncode == 0
    check = run(cli("index", "check", "-o", str(out)))
    assert check.returncode == 0, check.stdout + check.stderr
    assert {u for u, _, _ in site.articles} == set(_urls_in_index(out))


def _urls_in_index(out: Path) -> list[str]:
    import sqlite3

    db = sqlite3.connect(out / STATE_DIR / "index.sqlite3")
    try:
        return [r[0] for r in db.execute("SELECT url FROM articles WHERE status = 'archived'")]
    finally:
        db.close()


# --- an output that cannot be written ---


def _assert_refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsspider: error: "), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_read_only_output_is_refused_before_any_request(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    """A read-only mount as root (root writes through permission bits); without root, a
    folder tree with the write bits removed."""
    Site(http_server, 3, per_page=4)
    disk = tmp_path / "ro-disk"
    if MOUNTABLE:
        mount_tmpfs(disk, "4m")
    else:
        disk.mkdir()
    try:
        out = disk / "out"
        first = run(command(http_server, "crawl", out))
        assert first.returncode == 0, first.stderr[-2000:]
        before = sorted(p.name for p in posts(out))
        http_server.requests.clear()
        if MOUNTABLE:
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        else:
            for folder in [disk, *(p for p in disk.rglob("*") if p.is_dir())]:
                folder.chmod(0o555)
        for target in (out, disk / "new-output"):
            done = run(default_level(command(http_server, "crawl", target, "--refresh")))
            _assert_refused(done, str(target))
            assert any(w in done.stderr for w in ("read-only", "Read-only", "ermission"))
        article = "https://finance.sina.com.cn/china/2023-01-01/doc-izzsyn000000.shtml"
        fetched = run(default_level([*command(http_server, "fetch", out), article]))
        _assert_refused(fetched)
        assert not http_server.requests  # refused before the first request
        assert sorted(p.name for p in posts(out)) == before
    finally:
        if MOUNTABLE:
            umount(disk)
        else:
            for folder in [disk, *(p for p in disk.rglob("*") if p.is_dir())]:
                folder.chmod(0o755)


def test_a_file_where_the_folder_should_be(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    Site(http_server, 2, per_page=4)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder", "utf-8")
    for target in (a_file, a_file / "out"):
        done = run(default_level(command(http_server, "crawl", target)))
        _assert_refused(done, str(target))
        assert a_file.read_text("utf-8") == "not a folder"
    # inside a real output folder: a file where the state folder should be
    out = tmp_path / "out"
    out.mkdir()
    (out / STATE_DIR).write_text("oops", "utf-8")
    done = run(default_level(command(http_server, "crawl", out)))
    _assert_refused(done, STATE_DIR)
    assert not http_server.requests


# --- names the file system refuses ---


def _article(docid: str, title: str, when: int) -> tuple[str, bytes]:
    from datetime import datetime

    created = datetime.fromtimestamp(when, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    html = SEED.joinpath("article.html").read_text("utf-8")
    html = html.replace(SEED_DOCID, docid).replace(SEED_TITLE, title)
    html = html.replace(SEED_CREATE_AT, created)
    url = f"https://finance.sina.com.cn/china/2023-01-01/doc-i{docid}.shtml"
    return url, html.encode("utf-8")


def test_a_long_title_twice_with_a_long_doc_id_stays_within_255_bytes(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    """The second article with one title gets ``title (DOCID).md``: a 210-byte title and a
    60-character doc id made a 269-byte name, ENAMETOOLONG on every run. The title part is cut
    at a character boundary instead; both articles are archived, exit 0, on every run."""
    site = Site(http_server, 0, per_page=4)
    title = "关于进一步深化数字化转型推进治理体系和治理能力现代化的若干意见全文发布" * 2
    title = title[:70]
    assert len(title.encode("utf-8")) == 210
    ids = ["a" * 59 + "1", "b" * 59 + "2"]
    base = 1_672_545_600
    for n, docid in enumerate(ids):
        url, html = _article(docid, title, base - n * 60)
        site.articles.append((url, base - n * 60, html))
        http_server.routes[path_of(url)] = Route(body=html, headers={"Content-Type": HTML})
    out = tmp_path / "out"
    for _run_no in range(2):
        done = run(default_level(command(http_server, "crawl", out, "--refresh")))
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Traceback" not in done.stderr
    names = sorted(p.name for p in posts(out))
    assert len(names) == 2, names
    assert all(len(name.encode("utf-8")) <= 255 for name in names), [len(x.encode()) for x in names]
    plain = [x for x in names if " (" not in x]
    suffixed = [x for x in names if " (" in x]
    assert len(plain) == 1 and len(suffixed) == 1
    assert any(suffixed[0].endswith(f" ({docid}).md") for docid in ids)  # the later one
    assert len(suffixed[0].encode("utf-8")) <= 255
    suffixed[0].encode("utf-8").decode("utf-8")  # cut at a character boundary
    assert suffixed[0].startswith(title[:50])
    assert run(cli("index", "check", "-o", str(out))).returncode == 0


# --- temp files of killed writers ---


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temp_files_of_killed_writers_are_reported_and_removed_only_when_dead(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    Site(http_server, 3, per_page=4)
    out = tmp_path / "out"
    first = run(command(http_server, "crawl", out))
    assert first.returncode == 0, first.stderr[-2000:]
    folder = posts(out)[0].parent
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        dead = _dead_pid()
        dead_tmp = folder / f".某篇文章.md.{dead}.tmp"
        live_tmp = folder / f".另一篇文章.md.{live.pid}.tmp"
        dead_img = out / "images" / f".x.jpg.{dead}.tmp"
        for path in (dead_tmp, live_tmp, dead_img):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"half a post")
        check = run(cli("index", "check", "-o", str(out)))
        assert check.returncode == 1
        reported = [x for x in check.stdout.splitlines() if x.startswith("temp: ")]
        assert len(reported) == 2, check.stdout
        assert all(str(dead) in x for x in reported) and str(live.pid) not in check.stdout

        # the start of a crawl removes the dead writers' temp files, not the live one's
        again = run(default_level(command(http_server, "crawl", out)))
        assert again.returncode == 0, again.stderr
        assert not dead_tmp.exists() and not dead_img.exists()
        assert live_tmp.exists()

        dead2 = folder / f".又一篇.md.{_dead_pid()}.tmp"
        dead2.write_bytes(b"x")
        fixed = run(cli("index", "check", "-o", str(out), "--repair"))
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "removed a temp file" in fixed.stdout
        assert not dead2.exists() and live_tmp.exists()
    finally:
        live.kill()
        live.wait()
    # its writer gone, the last one goes too
    assert run(cli("index", "check", "-o", str(out), "--repair")).returncode == 0
    assert temp_files(out) == []


def test_repair_on_a_full_disk_puts_the_old_index_back(
    tmpfs: Path, http_server: LocalHTTPServer
) -> None:
    """A rebuild the disk cuts short must not leave a partial index a crawl would trust: one
    line, exit 2, the old index back as it was; with room again the repair completes."""
    Site(http_server, 4, per_page=4)
    out = tmpfs / "out"
    assert run(command(http_server, "crawl", out)).returncode == 0
    db = out / STATE_DIR / "index.sqlite3"
    db.write_bytes(b"")  # damaged: empty while the journal holds 4 articles
    filler = tmpfs / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    fixed = run(cli("index", "check", "-o", str(out), "--repair"))
    assert fixed.returncode == 2, fixed.stdout + fixed.stderr
    errors = [x for x in fixed.stderr.splitlines() if x.startswith("newsspider: error: ")]
    assert len(errors) == 1 and "full" in errors[0] and "Traceback" not in fixed.stderr
    assert db.exists() and db.stat().st_size == 0  # as it was: still refused, never trusted
    crawl = run(default_level(command(http_server, "crawl", out)))
    assert crawl.returncode == 2 and "--repair" in crawl.stderr
    filler.unlink()
    assert run(cli("index", "check", "-o", str(out), "--repair")).returncode == 0
    assert run(cli("index", "check", "-o", str(out))).returncode == 0
    assert len(posts(out)) == 4 and temp_files(out) == []


def test_failures_the_full_disk_refused_are_recorded_by_the_next_run(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    """A disk so full that not even a failure's row fits (simulated through the test hook, so
    this runs without root; the tmpfs test above covers SQLite's own writes): the failures are
    in this run's summary and kept in ``.newsspider/unrecorded.jsonl``; the next run records
    them first, then completes the archive."""
    n = 12
    Site(http_server, n, per_page=6)
    out = tmp_path / "out"
    summary_file = tmp_path / "summary.json"
    argv = default_level(command(http_server, "crawl", out, "--summary-json", str(summary_file)))
    full = run(argv, NEWSSPIDER_TEST_DISK_BYTES="60000")
    assert full.returncode == 1, full.stderr[-3000:]
    assert "Traceback" not in full.stderr
    s = summary(summary_file)
    assert s["finish_reason"] == "disk-full"
    c = s["counts"]
    assert c["archived"] + c["failed"] == c["requested"] and c["failed"] >= 1
    refused = [f["url"] for f in s["failures"] if f["reason"] == "disk-full"]
    assert refused and s["stats"]["archive/unrecorded"] == len(refused)
    kept = [json.loads(x) for x in (out / STATE_DIR / "unrecorded.jsonl").read_text().splitlines()]
    assert sorted(e["url"] for e in kept) == sorted(refused)
    assert {e["reason"] for e in kept} == {"disk-full"}
    assert temp_files(out) == []
    check = run(cli("index", "check", "-o", str(out)))
    assert check.returncode == 1 and f"{len(refused)} failure(s)" in check.stdout

    again = run(argv)
    assert again.returncode == 0, again.stderr[-3000:]
    s2 = summary(summary_file)
    assert s2["stats"]["archive/unrecorded_recorded"] == len(refused)
    assert not (out / STATE_DIR / "unrecorded.jsonl").exists()
    assert len(posts(out)) == n and temp_files(out) == []
    assert run(cli("index", "check", "-o", str(out))).returncode == 0


def test_a_disk_full_before_the_start_is_refused_before_any_request(
    tmpfs: Path, http_server: LocalHTTPServer
) -> None:
    Site(http_server, 3, per_page=4)
    with open(tmpfs / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    done = run(default_level(command(http_server, "crawl", tmpfs / "out")))
    _assert_refused(done, "disk is full")
    assert not http_server.requests
