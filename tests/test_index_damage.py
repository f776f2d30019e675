"""An index that defends itself: a damaged ``index.sqlite3`` stops the run with exit 2 and one
line naming ``index check --repair``, and that repair rebuilds it from the journal and the posts
without ever writing a second post for an archived article.

Everything goes through the real ``newsspider`` command against the loopback site of
:mod:`faultcrawl` (a real Scrapy engine, real files, real SQLite).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from faultcrawl import Site, cli, command, run, snapshot, temp_files
from server import LocalHTTPServer

from newsspider.archive.channels import load_channels
from newsspider.archive.index import SCHEMA_VERSION, STATE_DIR, Index
from newsspider.archive.maintenance import import_posts

N = 6
REPAIR = "newsspider index check --repair"


def posts(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in (out / "_posts").rglob("*.md"))


def db_path(out: Path) -> Path:
    return out / STATE_DIR / "index.sqlite3"


def settle(out: Path) -> None:
    """Fold the WAL into the index file (what closing the last connection does anyway)."""
    db = sqlite3.connect(db_path(out))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path(out)}{suffix}").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One crawl of N articles (with images), settled: the archive the damage is done to."""
    out = tmp_path_factory.mktemp("archived") / "out"
    with LocalHTTPServer() as server:
        Site(server, N, per_page=4)
        done = run(command(server, "crawl", out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(posts(out)) == N
    settle(out)
    return out


@pytest.fixture
def out(archived: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(archived, copy)
    return copy


def crawl(server: LocalHTTPServer, out: Path) -> tuple[int, str]:
    """A crawl at the default log level: the status and stderr the user sees."""
    Site(server, N, per_page=4)
    argv = [a for a in command(server, "crawl", out) if a not in ("--log-level", "INFO")]
    done = run(argv)
    return done.returncode, done.stderr


def assert_refused(code: int, stderr: str, out: Path, before: list[str]) -> None:
    """Exit 2, one line naming the repair, no traceback, no post written."""
    lines = stderr.strip().splitlines()
    assert code == 2, stderr[-2000:]
    assert len(lines) == 1, stderr
    assert REPAIR in lines[0] and "damaged" in lines[0], lines[0]
    assert "Traceback" not in stderr
    assert posts(out) == before


def repair_then_crawl(server: LocalHTTPServer, out: Path, before: dict[str, bytes]) -> None:
    """``--repair`` rebuilds; the next crawl writes nothing new; the archive is as it was."""
    fixed = run(cli("index", "check", "-o", str(out), "--repair"))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Traceback" not in fixed.stderr
    code, stderr = crawl(server, out)
    assert code == 0, stderr
    assert "archived 0" in stderr
    after = snapshot(out)
    assert after == before, sorted(set(after) ^ set(before))
    assert not any(" (" in p for p in posts(out))  # no "title (DOCID).md" second copy
    assert run(cli("index", "check", "-o", str(out))).returncode == 0


def test_zero_byte_index_with_a_full_journal(out: Path, http_server: LocalHTTPServer) -> None:
    before, names = snapshot(out), posts(out)
    db_path(out).write_bytes(b"")
    code, stderr = crawl(http_server, out)
    assert_refused(code, stderr, out, names)
    assert f"journal holds {N}" in stderr
    assert db_path(out).stat().st_size == 0  # the refusal changed nothing
    check = run(cli("index", "check", "-o", str(out)))
    assert check.returncode == 1 and "damaged" in check.stdout
    repair_then_crawl(http_server, out, before)


def test_missing_index_with_a_full_journal(out: Path, http_server: LocalHTTPServer) -> None:
    before, names = snapshot(out), posts(out)
    db_path(out).unlink()
    code, stderr = crawl(http_server, out)
    assert_refused(code, stderr, out, names)
    assert not db_path(out).exists()
    repair_then_crawl(http_server, out, before)


def test_garbage_index(out: Path, http_server: LocalHTTPServer) -> None:
    before, names = snapshot(out), posts(out)
    db_path(out).write_bytes(os.urandom(50_000))
    code, stderr = crawl(http_server, out)
    assert_refused(code, stderr, out, names)
    assert "not an SQLite database" in stderr
    repair_then_crawl(http_server, out, before)


def test_half_truncated_index(out: Path, http_server: LocalHTTPServer) -> None:
    before, names = snapshot(out), posts(out)
    data = db_path(out).read_bytes()
    db_path(out).write_bytes(data[: len(data) // 2])
    code, stderr = crawl(http_server, out)
    assert_refused(code, stderr, out, names)
    assert "truncated" in stderr
    repair_then_crawl(http_server, out, before)


def test_pages_overwritten_inside_the_index_are_found_by_quick_check(
    out: Path, http_server: LocalHTTPServer
) -> None:
    """A header that looks right over broken pages: only SQLite's quick_check sees it."""
    before, names = snapshot(out), posts(out)
    data = bytearray(db_path(out).read_bytes())
    page = 4096
    assert len(data) > 8 * page
    data[2 * page : len(data) - page] = os.urandom(len(data) - 3 * page)
    db_path(out).write_bytes(bytes(data))
    code, stderr = crawl(http_server, out)
    assert_refused(code, stderr, out, names)
    repair_then_crawl(http_server, out, before)


def test_schema_newer_than_this_version(out: Path, http_server: LocalHTTPServer) -> None:
    names = posts(out)
    db = sqlite3.connect(db_path(out))
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    code, stderr = crawl(http_server, out)
    assert_refused(code, stderr, out, names)
    assert f"schema version {SCHEMA_VERSION + 5}" in stderr
    # read-only commands refuse too (one line, exit 2), they do not guess
    failed = run(cli("index", "failed", "-o", str(out)))
    assert failed.returncode == 2 and REPAIR in failed.stderr
    assert "Traceback" not in failed.stderr


def test_empty_index_file_with_tables_but_no_rows(out: Path, http_server: LocalHTTPServer) -> None:
    """A valid index emptied (rows deleted) while the journal still lists every article."""
    before, names = snapshot(out), posts(out)
    db = sqlite3.connect(db_path(out))
    db.execute("DELETE FROM articles")
    db.commit()
    db.close()
    code, stderr = crawl(http_server, out)
    assert_refused(code, stderr, out, names)
    repair_then_crawl(http_server, out, before)


def test_old_index_without_version_is_migrated_and_journals_the_template(
    out: Path, http_server: LocalHTTPServer
) -> None:
    """user_version 0 and no ``template`` column (an index of the previous release): opened,
    upgraded in place, tagged with this version; new rows record their page-object family."""
    db = sqlite3.connect(db_path(out))
    db.execute("PRAGMA user_version = 0")
    db.execute("ALTER TABLE articles DROP COLUMN template")
    db.commit()
    db.close()
    journal = out / STATE_DIR / "journal.jsonl"  # and its journal, whose lines had no template
    old_lines = [json.loads(x) for x in journal.read_text("utf-8").splitlines()]
    journal.write_text(
        "".join(
            json.dumps({k: v for k, v in r.items() if k != "template"}, ensure_ascii=False) + "\n"
            for r in old_lines
        ),
        "utf-8",
    )
    site = Site(http_server, N, per_page=4)
    site.add_article(newest=True)
    done = run(command(http_server, "crawl", out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "archived 1" in done.stderr
    db = sqlite3.connect(db_path(out))
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    templates = dict(db.execute("SELECT key, template FROM articles").fetchall())
    db.close()
    assert sorted(set(templates.values())) == ["", "F"]  # the old rows keep ''
    lines = (out / STATE_DIR / "journal.jsonl").read_text("utf-8").splitlines()
    rows = [json.loads(x) for x in lines]
    last = [r for r in rows if "table" not in r and "_deleted" not in r][-1]
    assert last["template"] == "F" and last["status"] == "archived"
    assert last["key"] == site.articles[0][0].rsplit("doc-i", 1)[1].split(".")[0]
    assert run(cli("index", "check", "-o", str(out))).returncode == 0


def test_journal_torn_inside_a_character_with_the_index_lost(
    out: Path, http_server: LocalHTTPServer
) -> None:
    """The last journal line cut in the middle of a 3-byte character, and the index gone:
    ``--repair`` rebuilds from the whole lines, adopts the post whose line was torn, and the
    next crawl recognises it (no second post, exit 0)."""
    before, names = snapshot(out), posts(out)
    journal = out / STATE_DIR / "journal.jsonl"
    data = journal.read_bytes()
    lines = data.splitlines(keepends=True)
    # the last article line (image lines may follow it: they go too, as if written after)
    n = max(i for i, x in enumerate(lines) if b'"table"' not in x and b'"_deleted"' not in x)
    last_start = sum(len(x) for x in lines[:n])
    last = lines[n]
    # cut right after the first byte of the first multi-byte character of the last line
    cut = next(i for i, b in enumerate(last) if b >= 0xE0) + 1
    journal.write_bytes(data[: last_start + cut])
    with pytest.raises(UnicodeDecodeError):
        journal.read_text("utf-8")
    db_path(out).unlink()
    code, stderr = crawl(http_server, out)
    assert_refused(code, stderr, out, names)
    fixed = run(cli("index", "check", "-o", str(out), "--repair"))
    assert fixed.returncode in (0, 1), fixed.stderr
    assert "Traceback" not in fixed.stdout + fixed.stderr
    assert "adopted as imported" in fixed.stdout
    code, stderr = crawl(http_server, out)
    assert code == 0, stderr
    assert "archived 0" in stderr and "Traceback" not in stderr
    assert snapshot(out) == before and posts(out) == names
    # and a journal line appended after a torn one starts on a line of its own
    assert journal.read_bytes().count(b"\n") >= N


def test_repair_reports_a_stray_file_and_does_not_adopt_it(out: Path) -> None:
    folder = out / "_posts" / "金融" / "新浪财经" / "新浪财经－国內"
    (folder / "stray.md").write_text("just some notes, no front matter\n", "utf-8")
    check = run(cli("index", "check", "-o", str(out)))
    assert check.returncode == 1 and "orphaned" in check.stdout and "stray.md" in check.stdout
    fixed = run(cli("index", "check", "-o", str(out), "--repair"))
    assert "not adopted" in fixed.stdout and "stray.md" in fixed.stdout
    assert "Traceback" not in fixed.stderr
    db = sqlite3.connect(db_path(out))
    held = [r[0] for r in db.execute("SELECT path FROM articles WHERE path LIKE '%stray%'")]
    db.close()
    assert held == []
    assert (folder / "stray.md").exists()  # reported, left alone


def test_index_import_reports_bad_posts_and_imports_the_rest(out: Path, tmp_path: Path) -> None:
    source = tmp_path / "old-archive"
    source.mkdir()
    good = [out / p for p in posts(out)[:3]]
    for n, post in enumerate(good):
        shutil.copy(post, source / f"{n}-{post.name}")
    long_cats = "".join(f" - {'类' * 60}{i}\n" for i in range(30))
    (source / "1b-overlong.md").write_text(
        f"\n---\ntitle: 'x'\ncategories: \n{long_cats}date: Thu, 02 Dec 2021 13:15:52 GMT\n---\n\n"
        "<div>   \nx  \n</div>\n            ",
        "utf-8",
    )
    (source / "1c-no-front-matter.md").write_text("no front matter here", "utf-8")
    (source / "1d-bad-yaml.md").write_text("\n---\ntitle: [unclosed\n---\n\nbody", "utf-8")
    target = tmp_path / "target"
    done = run(cli("index", "import", str(source), "-o", str(target)))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    skipped = [x for x in done.stderr.splitlines() if x.startswith("skipped: ")]
    assert len(skipped) == 3, done.stderr
    assert any("1b-overlong" in x and "too long" in x for x in skipped), skipped
    assert any("1c-no-front-matter" in x and "no front matter" in x for x in skipped), skipped
    assert any("1d-bad-yaml" in x for x in skipped), skipped
    assert "imported 3" in done.stderr
    assert len(posts(target)) == 3
    assert run(cli("index", "check", "-o", str(target))).returncode == 0


def test_rebuild_is_in_process_safe(out: Path) -> None:
    """The library layer: opening a damaged index raises ArchiveDamaged (a UsageError), and
    import refuses too rather than write into it."""
    from newsspider.errors import ArchiveDamaged, UsageError

    db_path(out).write_bytes(b"")
    with pytest.raises(ArchiveDamaged) as caught:
        Index(out)
    assert isinstance(caught.value, UsageError) and REPAIR in str(caught.value)
    with pytest.raises(ArchiveDamaged):
        import_posts(out / "_posts", out, load_channels())
    assert temp_files(out) == []
