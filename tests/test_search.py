"""``newsspider search``: the full-text index follows writes, updates and repairs; no Scrapy."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import PROJECT, run_newsspider
from exportutil import GOLDEN, channel_replay, crawl, export, result_paths, search
from rollreplay import SEED_BODY_PHRASE

from newsspider.archive.fulltext import search as search_index
from newsspider.archive.index import JOURNALED
from newsspider.archive.store import Archive
from newsspider.article import Article
from newsspider.pages import extract

BEIJING = timezone(timedelta(hours=8))
SEED = GOLDEN["seed-digital-governance"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("search")
    crawl(channel_replay(tmp / "replay").write(), tmp / "out")
    return tmp / "out"


def middle_phrase(text: str, length: int) -> str:
    """``length`` characters from the middle of ``text``, without whitespace."""
    mid = len(text) // 2
    for start in sorted(range(len(text) - length + 1), key=lambda i: abs(i - mid)):
        piece = text[start : start + length]
        if not re.search(r"\s", piece):
            return piece
    raise AssertionError(f"no {length}-character phrase in {text!r}")


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_each_golden_article_is_found_by_body_and_title(archive: Path, name: str) -> None:
    g = GOLDEN[name]
    article = extract(g.url, g.html, None)
    paragraphs = [p for p in article.paragraphs if len(p.strip()) >= 8]
    body_phrase = middle_phrase(paragraphs[len(paragraphs) // 2], 4)
    out = search(archive, body_phrase)
    assert g.expected_path in result_paths(out), (body_phrase, out)
    assert body_phrase in out and "**" not in out and "\x1b" not in out  # plain in a pipe
    title_phrase = middle_phrase(article.title, 5)
    out = search(archive, title_phrase)
    assert g.expected_path in result_paths(out), (title_phrase, out)


def test_results_newest_first_with_filters_and_short_terms(archive: Path) -> None:
    out = search(archive, "数字化转型")  # the seed and its six synthetic variants
    paths = result_paths(out)
    assert SEED.expected_path in paths and len(paths) == 7
    dates = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d)  ", out, re.MULTILINE)
    assert len(dates) == 7 and dates == sorted(dates, reverse=True)
    assert result_paths(search(archive, "数字化转型", "--limit", "2")) == paths[:2]
    since = search(archive, "数字化转型", "--since", dates[2].replace(" ", "T"))
    assert result_paths(since) == paths[:3]
    assert result_paths(search(archive, "数字化转型", "--channel", "china-macro")) == []
    # one or two characters: no trigram can answer, LIKE does
    assert result_paths(search(archive, "李强")) == paths
    assert result_paths(search(archive, "蓝")) == result_paths(search(archive, "蓝图"))
    # every term must occur; short and long terms mix
    assert result_paths(search(archive, "李强 第3号")) == [p for p in paths if "第3号" in p]
    assert result_paths(search(archive, "数字化转型 CPI")) == []
    assert result_paths(search(archive, "cpi")) == result_paths(search(archive, "CPI")) != []
    run = run_newsspider("search", "-o", str(archive), "--since", "soon", "x")
    assert run.returncode == 2 and "--since" in run.stderr


def test_search_follows_an_updated_article(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(archive, out)
    assert SEED.expected_path in result_paths(search(out, SEED_BODY_PHRASE))
    # the seed is corrected on Sina: the roll lists it with a newer mtime, the page changed
    b = channel_replay(tmp_path / "replay", mtime_bump={SEED.name: 3600})
    b.add(SEED.url, SEED.html.replace(SEED_BODY_PHRASE.encode(), "继今年六月".encode()))
    run = crawl(b.write(), out)
    assert "updated 1" in run.stderr
    old = result_paths(search(out, SEED_BODY_PHRASE))
    assert SEED.expected_path not in old and len(old) == 6  # the synthetic copies still say it
    assert result_paths(search(out, "继今年六月")) == [SEED.expected_path]
    seed = next(r for r in export(out) if r["url"] == SEED.url)
    assert "继今年六月" in seed["text"] and SEED_BODY_PHRASE not in seed["body_html"]


def test_check_reports_and_repair_rebuilds_the_full_text_index(
    archive: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(archive, out)
    db = sqlite3.connect(out / ".newsspider" / "index.sqlite3")
    with db:
        db.execute("DELETE FROM articles_fts WHERE rowid = "
                   "(SELECT rowid FROM articles WHERE url = ?)", (SEED.url,))  # fmt: skip
    db.close()
    assert SEED.expected_path not in result_paths(search(out, "数字化转型"))
    check = run_newsspider("index", "check", "-o", str(out))
    assert check.returncode == 1 and "search: " in check.stdout
    assert run_newsspider("index", "check", "-o", str(out), "--repair").returncode == 0
    assert run_newsspider("index", "check", "-o", str(out)).returncode == 0
    assert SEED.expected_path in result_paths(search(out, "数字化转型"))


def test_an_index_from_before_search_is_upgraded(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(archive, out)
    before = export(out)
    db = sqlite3.connect(out / ".newsspider" / "index.sqlite3")
    for name in ("articles_fts_bi", "articles_fts_ai", "articles_fts_ad", "articles_fts_au"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE articles_fts")
    # the articles table as the first release had it: no derived columns
    others = ", ".join(c for c in JOURNALED if c not in ("key", "path"))
    db.execute(f"CREATE TABLE old (key TEXT PRIMARY KEY, path TEXT UNIQUE, {others})")
    db.execute(f"INSERT INTO old SELECT key, path, {others} FROM articles")
    db.execute("DROP TABLE articles")
    db.execute("ALTER TABLE old RENAME TO articles")
    db.commit()
    db.close()
    assert run_newsspider("index", "check", "-o", str(out)).returncode == 0
    assert SEED.expected_path in result_paths(search(out, SEED_BODY_PHRASE))
    assert export(out) == before


def test_search_command_never_imports_scrapy(archive: Path) -> None:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "newsspider.cli", "search", "-o", str(archive),
         SEED_BODY_PHRASE],
        capture_output=True, text=True, cwd=PROJECT, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and SEED.expected_path in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}  # fmt: skip
    assert "newsspider.archive.fulltext" in imported  # the log is what we think it is
    heavy = sorted(m for m in imported if m.split(".")[0] in ("scrapy", "twisted"))
    assert heavy == [], heavy[:10]


# --- the search API itself, in process (no crawl) ---


def test_index_follows_saves_of_titles_and_bodies(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "out", images="off")
    when = datetime(2024, 5, 10, 8, 0, tzinfo=BEIJING)

    def save(title: str, body: str) -> None:
        url = "https://finance.sina.com.cn/china/doc-izz000001.shtml"
        archive.save(Article(url=url, doc_id="zz000001", title=title, created_at=when, body=body))

    def found(query: str) -> list[str]:
        hits, total = search_index(archive.index.db, query)
        assert total == len(hits)
        return [h.key for h in hits]

    try:
        save("央行宣布降准50个基点", "<p>　　释放长期资金约1万亿元，100% 完成。</p>")
        assert found("降准50") == found("1万亿元") == found("100%") == ["zz000001"]
        assert found("％") == [] and found("_") == []  # LIKE wildcards are literal
        save("央行宣布降息25个基点", "<p>　　下调贷款市场报价利率。</p>")
        assert found("降准50") == found("1万亿元") == found("100%") == []
        assert found("降息25") == found("报价利率") == ["zz000001"]
        hits, _ = search_index(archive.index.db, "报价利率", mark=("<", ">"))
        assert hits[0].snippet == "下调贷款市场<报价利率>。" and hits[0].title.startswith("央行")
    finally:
        archive.close()


def test_rows_a_killed_writer_never_indexed_are_caught_up(tmp_path: Path) -> None:
    """The FTS table is updated in batches: rows committed but not yet indexed when the process
    dies are not lost (``index check`` is clean, a search finds them, an open indexes them)."""
    out = tmp_path / "out"
    script = (
        "import os, sys\n"
        "from datetime import datetime, timedelta, timezone\n"
        "from newsspider.archive.store import Archive\n"
        "from newsspider.article import Article\n"
        "a = Archive(sys.argv[1], images='off')\n"
        "when = datetime(2024, 5, 10, 8, 0, tzinfo=timezone(timedelta(hours=8)))\n"
        "for i in range(3):\n"
        "    a.save(Article(url=f'https://finance.sina.com.cn/china/doc-izz00000{i}.shtml',\n"
        "                   doc_id=f'zz00000{i}', title=f'央行宣布降准{i}号', created_at=when,\n"
        "                   body=f'<p>　　释放长期资金约{i}万亿元。</p>'))\n"
        "os._exit(0)  # no close: nothing flushed to the full-text table\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(out)], cwd=PROJECT, timeout=60,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    db = sqlite3.connect(out / ".newsspider" / "index.sqlite3")
    assert db.execute("SELECT count(*) FROM fts_pending").fetchone()[0] > 0
    assert db.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 0
    db.close()
    assert run_newsspider("index", "check", "-o", str(out)).returncode == 0
    assert len(result_paths(search(out, "央行宣布降准"))) == 3  # the search caught up
    db = sqlite3.connect(out / ".newsspider" / "index.sqlite3")
    assert db.execute("SELECT count(*) FROM fts_pending").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 3
    db.close()


def test_triggers_of_an_older_index_are_replaced(tmp_path: Path) -> None:
    """An index whose triggers still update the FTS table directly gets the batched ones."""
    from newsspider.archive.index import Index, Record

    Index(tmp_path).close()
    db = sqlite3.connect(tmp_path / ".newsspider" / "index.sqlite3")
    db.executescript(
        "DROP TRIGGER articles_fts_ai;"
        "CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN "
        "INSERT OR REPLACE INTO articles_fts(rowid, title, text) "
        "VALUES (new.rowid, new.title, new.text); END;"
    )
    db.close()
    index = Index(tmp_path)
    try:
        index.put(Record(key="k", path="_posts/k.md", title="降准五十个基点", status="archived"))
        sql = index.db.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_fts_ai'")
        assert "fts_pending" in sql.fetchone()[0]
        assert [h.key for h in search_index(index.db, "五十个")[0]] == ["k"]
    finally:
        index.close()
