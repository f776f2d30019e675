"""``newsspider crawl`` end to end: real Scrapy engine, subprocesses, replayed roll pages."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT, run_newsspider
from rollreplay import (
    BEIJING,
    SEED_BODY_PHRASE,
    ReplayBuilder,
    corpus_pages,
    golden_cases,
    roll_body,
    roll_item,
    synthetic_article,
    unix,
)

from newsspider.archive.channels import load_channels
from newsspider.pages import NotAnArticle, extract

CHANNELS = load_channels()
CHINA = "/".join(("_posts", *CHANNELS["china"].categories))
GOLDEN = {g.name: g for g in golden_cases()}
BASE_TIME = unix("2023-01-01 12:00:00")


def crawl(tmp: Path, replay: Path, *args: str, out: str = "out") -> tuple[int, dict[str, Any], str]:
    """Run the command; return its exit status, the --summary-json and stderr."""
    summary = tmp / f"summary-{len(list(tmp.glob('summary-*')))}.json"
    run = run_newsspider("crawl", "--replay", str(replay), "-o", str(tmp / out),
                         "--summary-json", str(summary), "--log-level", "INFO",
                         "--images", "remote", *args)  # fmt: skip
    data = json.loads(summary.read_text("utf-8")) if summary.exists() else {}
    assert run.returncode in (0, 1, 3), run.stderr[-4000:]
    return run.returncode, data, run.stderr


def posts(out: Path) -> dict[str, Path]:
    return {p.relative_to(out).as_posix(): p for p in (out / "_posts").rglob("*.md")}


def mtimes(out: Path) -> dict[str, int]:
    return {k: p.stat().st_mtime_ns for k, p in posts(out).items()}


def rows(out: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(out / ".newsspider" / "index.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM articles ORDER BY key")]
    finally:
        db.close()


def golden_replay(directory: Path, names: list[str] | None = None, channel: str = "china",
                  mtime_bump: dict[str, int] | None = None) -> ReplayBuilder:  # fmt: skip
    b = ReplayBuilder(directory)
    items = []
    for i, g in enumerate(GOLDEN[n] for n in (names or sorted(GOLDEN))):
        ctime = BASE_TIME - i * 60
        items.append(
            roll_item(g.url, g.name, ctime, ctime + 300 + (mtime_bump or {}).get(g.name, 0))
        )
        b.add(g.url, g.html)
    b.add_roll(channel, 1, roll_body(items))
    return b


# --- one crawl: every article once, the golden ones byte for byte ---


def test_replayed_crawl_archives_each_article_once(tmp_path: Path) -> None:
    b = golden_replay(tmp_path / "replay")
    items = [roll_item(g.url, g.name, BASE_TIME - i * 60) for i, g in enumerate(GOLDEN.values())]
    extractable: dict[str, str] = {}
    failing: set[str] = set()
    for n, (name, url, html) in enumerate(corpus_pages()):
        items.append(roll_item(url, name, BASE_TIME - 10_000 - n * 60))
        b.add(url, html)
        try:
            extractable[url] = extract(url, html, None).doc_id or url
        except NotAnArticle:
            failing.add(url)
    b.add_roll("china", 1, roll_body(items))
    code, summary, _ = crawl(tmp_path, b.write())

    out = tmp_path / "out"
    for g in GOLDEN.values():
        assert (out / g.expected_path).read_bytes() == g.expected, g.name
    index = rows(out)
    by_url = {r["url"]: r for r in index}
    assert len(index) == len(by_url) == len(GOLDEN) + len(extractable)
    for url in [g.url for g in GOLDEN.values()] + list(extractable):
        rec = by_url[url]
        assert rec["channel"] == "china" and rec["status"] == "archived"
        assert rec["path"].startswith(CHINA + "/")
        assert rec["doc_id"] and rec["content_hash"] and rec["roll_mtime"]
    assert len(posts(out)) == len(index)
    assert {f["url"] for f in summary["failures"]} == failing
    assert code == (1 if failing else 0)
    assert summary["counts"]["archived"] == len(index)


def test_scrapy_crawl_sina_spider(tmp_path: Path) -> None:
    replay = golden_replay(tmp_path / "replay", ["seed-digital-governance"]).write()
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "sina", "-a", "channel=china",
         "-s", f"NEWSSPIDER_REPLAY_DIR={replay}", "-s", f"NEWSSPIDER_OUTPUT={out}",
         "-s", "LOG_LEVEL=WARNING", "-s", "NEWSSPIDER_IMAGES=remote"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    g = GOLDEN["seed-digital-governance"]
    assert (out / g.expected_path).read_bytes() == g.expected


# --- incremental: nothing fetched twice, changed articles rewritten in place ---


def test_second_run_fetches_nothing_then_a_modified_article_is_updated(tmp_path: Path) -> None:
    replay = golden_replay(tmp_path / "replay").write()
    code, first, _ = crawl(tmp_path, replay)
    assert code == 0 and first["counts"]["archived"] == len(GOLDEN)
    out = tmp_path / "out"
    before = mtimes(out)

    code, second, _ = crawl(tmp_path, replay)
    assert code == 0
    assert second["counts"]["requested"] == 0 and second["counts"]["skipped"] == len(GOLDEN)
    assert second["stats"]["replay/hits"] == 1  # the roll page only: no article page fetched
    assert mtimes(out) == before

    # the seed changes on Sina and the roll lists it with a newer mtime
    seed = GOLDEN["seed-digital-governance"]
    stored_mtime = next(r for r in rows(out) if r["url"] == seed.url)["roll_mtime"]
    b = golden_replay(tmp_path / "replay2", mtime_bump={seed.name: 3600})
    b.add(seed.url, seed.html.replace(SEED_BODY_PHRASE.encode(), "继今年六月".encode()))
    code, third, _ = crawl(tmp_path, b.write())
    assert code == 0
    assert third["counts"]["requested"] == 1 and third["counts"]["updated"] == 1
    after = mtimes(out)
    assert set(after) == set(before)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {seed.expected_path}
    assert "继今年六月" in (out / seed.expected_path).read_text("utf-8")
    rec = next(r for r in rows(out) if r["url"] == seed.url)
    assert rec["roll_mtime"] == stored_mtime + 3600


def test_article_gone_on_refetch_keeps_its_post(tmp_path: Path) -> None:
    crawl(tmp_path, golden_replay(tmp_path / "replay").write())
    seed = GOLDEN["seed-digital-governance"]
    out = tmp_path / "out"
    before = (out / seed.expected_path).read_bytes()
    b = golden_replay(tmp_path / "replay2", mtime_bump={seed.name: 60})
    b.remove(seed.url)  # Sina answers 404 now
    code, summary, _ = crawl(tmp_path, b.write())
    assert code == 0 and summary["counts"]["gone"] == 1 and not summary["failures"]
    assert (out / seed.expected_path).read_bytes() == before
    rec = next(r for r in rows(out) if r["url"] == seed.url)
    assert rec["status"] == "gone" and "404" in rec["reason"]
    assert run_newsspider("index", "check", "-o", str(out)).returncode == 0


# --- where a crawl stops ---

N_BIG = 150


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, int]]]:
    """150 distinct articles on 3 roll pages, newest first: (replay dir, [(url, ctime)])."""
    directory = tmp_path_factory.mktemp("big")
    b = ReplayBuilder(directory / "replay")
    listed = []
    for n in range(N_BIG):
        ctime = BASE_TIME - n * 600
        url, _, title, html = synthetic_article(n, when=ctime)
        b.add(url, html)
        listed.append((url, title, ctime))
    for page in range(3):
        chunk = listed[page * 50 : (page + 1) * 50]
        b.add_roll("china", page + 1, roll_body(
            [roll_item(u, t, c) for u, t, c in chunk], total=N_BIG))  # fmt: skip
    return b.write(), [(u, c) for u, _, c in listed]


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, BEIJING).isoformat()


def test_pages_stops_after_n_pages(tmp_path: Path, big: Any) -> None:
    replay, _ = big
    code, s, _ = crawl(tmp_path, replay, "--pages", "2")
    assert code == 0 and s["counts"]["pages"] == 2 and s["counts"]["archived"] == 100
    assert "--pages 2" in s["stopped"]["china"]


def test_limit_stops_at_n_articles(tmp_path: Path, big: Any) -> None:
    replay, listed = big
    code, s, _ = crawl(tmp_path, replay, "--limit", "60")
    assert code == 0 and s["counts"]["requested"] == 60 and s["counts"]["pages"] == 2
    assert {r["url"] for r in rows(tmp_path / "out")} == {u for u, _ in listed[:60]}


def test_since_stops_at_older_items_and_until_skips_newer(tmp_path: Path, big: Any) -> None:
    replay, listed = big
    since, until = listed[74][1], listed[10][1] - 1
    code, s, _ = crawl(tmp_path, replay, "--since", _iso(since), "--until", _iso(until))
    assert code == 0 and s["counts"]["pages"] == 2  # page 3 never read
    assert {r["url"] for r in rows(tmp_path / "out")} == {u for u, _ in listed[11:75]}
    assert "--since" in s["stopped"]["china"]
    # a bare date is Beijing time
    code, s, _ = crawl(tmp_path, replay, "--since", "2099-01-01", out="out2")
    assert s["counts"]["requested"] == 0 and s["counts"]["pages"] == 1


def test_incremental_stop_on_a_page_already_archived(tmp_path: Path, big: Any) -> None:
    replay, listed = big
    code, s, _ = crawl(tmp_path, replay)
    assert code == 0 and s["counts"]["archived"] == N_BIG and s["counts"]["pages"] == 3
    # ten newer articles arrive: page 1 = 10 new + 40 known, page 2 all known -> stop there
    b = ReplayBuilder(tmp_path / "replay2")
    items = []
    for n in range(N_BIG, N_BIG + 10):
        ctime = BASE_TIME + (n - N_BIG + 1) * 600
        url, _, title, html = synthetic_article(n, when=ctime)
        b.add(url, html)
        items.append(roll_item(url, title, ctime))
    items += [roll_item(u, "old", c) for u, c in listed]
    for page in range(4):
        b.add_roll("china", page + 1, roll_body(items[page * 50 : (page + 1) * 50], total=160))
    code, s, _ = crawl(tmp_path, b.write())
    assert code == 0 and s["counts"]["requested"] == 10 and s["counts"]["archived"] == 10
    assert s["counts"]["pages"] == 2 and "incremental" in s["stopped"]["china"]
    assert len(posts(tmp_path / "out")) == N_BIG + 10


# --- broken roll answers ---


def test_broken_roll_answers_are_logged_counted_and_survived(tmp_path: Path) -> None:
    b = ReplayBuilder(tmp_path / "replay")
    b.add_roll("china", 1, b"<html>502 Bad Gateway</html>", content_type="text/html")
    b.add_roll("china-macro", 1, roll_body([], code=11))
    b.add_roll("china-finance", 1, roll_body([]))
    seed, cpi = GOLDEN["seed-digital-governance"], GOLDEN["cpi-jan-apr-noimg"]
    broken = [
        "not an object",
        {"title": "no url"},
        {"url": 42},
        {"url": "javascript:void(0)"},
        {"url": "https://www.example.com/china/doc-iabc.shtml"},
        {"url": cpi.url, "ctime": "yesterday"},
    ]
    body = roll_body([*broken, roll_item(seed.url, seed.name, BASE_TIME)])
    b.add_roll("china-local", 1, b"try{cb(" + body + b");}catch(e){};")
    b.add(seed.url, seed.html)
    # china-ministries: not in the manifest at all -> 404
    channels = ["china", "china-macro", "china-finance", "china-local", "china-ministries"]
    args = [a for c in channels for a in ("--channel", c)]
    code, s, err = crawl(tmp_path, b.write(), *args)
    # roll pages that failed are failed URLs; channels whose feed listed nothing: health alarm
    assert code == 3
    assert {w.split(":")[0] for w in s["health"]} == {
        f"channel {c}" for c in ("china", "china-macro", "china-finance", "china-ministries")
    }
    st = s["stats"]
    assert st["roll/error/not_json"] == 1 and st["roll/error/bad_status"] == 1
    assert st["roll/error/empty"] == 1 and st["roll/error/fetch"] == 1
    for stat in ("not_object", "no_url", "bad_type", "bad_scheme", "foreign_host"):
        assert st[f"roll/bad_item/{stat}"] >= 1, stat
    assert "not JSON" in err and "status.code is 11" in err and "not a Sina article host" in err
    assert "javascript" in err and "page 1 is empty" in err
    failed = {f["url"]: f["reason"] for f in s["failures"]}
    assert len(failed) == 3 and all(u.startswith("https://feed.mix") for u in failed)
    local = "/".join(("_posts", *CHANNELS["china-local"].categories))
    assert list(posts(tmp_path / "out")) == [f"{local}/{seed.expected_path.rsplit('/', 1)[1]}"]


# --- one article, two channels; two articles, one title ---


def test_article_in_two_channels_is_filed_once_under_the_first(tmp_path: Path) -> None:
    seed, cpi = GOLDEN["seed-digital-governance"], GOLDEN["cpi-jan-apr-noimg"]
    b = ReplayBuilder(tmp_path / "replay")
    b.add(seed.url, seed.html)
    b.add(cpi.url, cpi.html)
    b.add_roll("china", 1, roll_body([roll_item(seed.url, "s", BASE_TIME)]))
    b.add_roll("china-macro", 1, roll_body([roll_item(cpi.url, "c", BASE_TIME),
                                            roll_item(seed.url, "s", BASE_TIME)]))  # fmt: skip
    replay = b.write()
    macro = "/".join(("_posts", *CHANNELS["china-macro"].categories))
    name = seed.expected_path.rsplit("/", 1)[1]
    for out, order, folder in (("a", ["china", "china-macro"], CHINA),
                               ("b", ["china-macro", "china"], macro)):  # fmt: skip
        args = [a for c in order for a in ("--channel", c)]
        code, s, _ = crawl(tmp_path, replay, *args, out=out)
        found = posts(tmp_path / out)
        assert code == 0 and len(found) == 2, found
        assert f"{folder}/{name}" in found
        assert s["counts"]["requested"] == 2
    # and a later crawl of the other channel does not file it again
    code, s, _ = crawl(tmp_path, replay, "--channel", "china-macro", out="a")
    assert s["counts"]["requested"] == 0 and len(posts(tmp_path / "a")) == 2


def test_same_title_different_articles_keep_both(tmp_path: Path) -> None:
    b = ReplayBuilder(tmp_path / "replay")
    u1, d1, title, h1 = synthetic_article(1, when=BASE_TIME)
    u2, d2, _, h2 = synthetic_article(2, when=BASE_TIME - 60)
    h2 = h2.replace("合成测试文章第2号".encode(), "合成测试文章第1号".encode())
    b.add(u1, h1)
    b.add(u2, h2)
    b.add_roll("china", 1, roll_body([roll_item(u1, title, BASE_TIME),
                                      roll_item(u2, title, BASE_TIME - 60)]))  # fmt: skip
    code, _s, _ = crawl(tmp_path, b.write())
    names = {p.rsplit("/", 1)[1] for p in posts(tmp_path / "out")}
    assert code == 0 and len(names) == 2
    assert f"{title}.md" in names
    assert names - {f"{title}.md"} <= {f"{title} ({d1}).md", f"{title} ({d2}).md"}


# --- index check / repair ---


def _check(out: Path, *extra: str) -> Any:
    return run_newsspider("index", "check", "-o", str(out), *extra)


@pytest.fixture
def archived(tmp_path: Path) -> tuple[Path, Path]:
    replay = golden_replay(tmp_path / "replay").write()
    code, _, _ = crawl(tmp_path, replay)
    assert code == 0 and _check(tmp_path / "out").returncode == 0
    return tmp_path / "out", replay


def _sql(out: Path, statement: str, *params: Any) -> None:
    db = sqlite3.connect(out / ".newsspider" / "index.sqlite3")
    with db:
        db.execute(statement, params)
    db.close()


def test_check_and_repair_deleted_post(archived: tuple[Path, Path], tmp_path: Path) -> None:
    out, replay = archived
    seed = GOLDEN["seed-digital-governance"]
    (out / seed.expected_path).unlink()
    run = _check(out)
    assert run.returncode == 1 and "missing" in run.stdout
    assert _check(out, "--repair").returncode == 0
    assert _check(out).returncode == 0
    assert next(r for r in rows(out) if r["url"] == seed.url)["status"] == "missing"
    # marked for re-fetch: the next crawl brings it back, byte for byte
    code, s, _ = crawl(tmp_path, replay)
    assert code == 0 and s["counts"]["requested"] == 1
    assert (out / seed.expected_path).read_bytes() == seed.expected
    assert _check(out).returncode == 0


@pytest.mark.parametrize("damage", ["hash", "row", "garbage"])
def test_check_and_repair_damaged_index(archived: tuple[Path, Path], damage: str) -> None:
    out, _ = archived
    before = {r["key"]: r for r in rows(out)}
    seed = GOLDEN["seed-digital-governance"]
    if damage == "hash":
        _sql(out, "UPDATE articles SET content_hash = 'bad' WHERE url = ?", seed.url)
        expect = "hash"
    elif damage == "row":
        _sql(out, "DELETE FROM articles WHERE url = ?", seed.url)
        expect = "orphaned"
    else:
        for f in (out / ".newsspider").glob("index.sqlite3*"):
            f.unlink()
        (out / ".newsspider" / "index.sqlite3").write_bytes(b"this is not a database" * 100)
        expect = "unreadable"
    run = _check(out)
    assert run.returncode == 1 and expect in run.stdout, run.stdout
    repaired = _check(out, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert _check(out).returncode == 0
    assert {r["key"]: r for r in rows(out)} == before


# --- importing the original archive ---

ARCHIVED = Path(__file__).parent / "fixtures" / "archived"


def _categories(post: Path) -> list[str]:
    lines = post.read_text("utf-8").split("\n")
    start = lines.index("categories: ")
    return [line[3:] for line in lines[start + 1 : start + 4]]


def test_import_then_crawl_adopts_imported_posts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = run_newsspider("index", "import", str(ARCHIVED), "-o", str(out))
    assert run.returncode == 0, run.stderr
    sources = sorted(ARCHIVED.glob("*.md"))
    assert len(sources) == 34
    for src in sources:
        target = out / "_posts" / Path(*_categories(src)) / src.name
        assert target.read_bytes() == src.read_bytes(), src.name
    assert len(posts(out)) == 34 and _check(out).returncode == 0
    again = run_newsspider("index", "import", str(ARCHIVED), "-o", str(out))
    assert again.returncode == 0 and "imported 0, already imported 34" in again.stderr
    before = {k: p.read_bytes() for k, p in posts(out).items()}
    stamps = mtimes(out)

    names = ["seed-digital-governance", "cpi-jan-apr-noimg"]
    replay = golden_replay(tmp_path / "replay", names).write()
    code, s, _ = crawl(tmp_path, replay)
    assert code == 0 and s["counts"]["adopted"] == 2 and s["counts"]["archived"] == 0
    assert {k: p.read_bytes() for k, p in posts(out).items()} == before
    assert mtimes(out) == stamps
    by_url = {r["url"]: r for r in rows(out)}
    for name in names:
        g = GOLDEN[name]
        rec = by_url[g.url]
        assert rec["path"] == g.expected_path and rec["doc_id"] == g.docid
    assert _check(out).returncode == 0
    # known by URL now: the next crawl skips them
    code, s, _ = crawl(tmp_path, replay)
    assert s["counts"]["requested"] == 0

    # --refresh rewrites in place: the cpi post gets the fixed headimg, the seed stays identical
    code, s, _ = crawl(tmp_path, replay, "--refresh")
    assert code == 0 and s["counts"]["updated"] == 1 and s["counts"]["unchanged"] == 1
    after = {k: p.read_bytes() for k, p in posts(out).items()}
    assert set(after) == set(before)
    cpi = GOLDEN["cpi-jan-apr-noimg"]
    assert after[cpi.expected_path] == cpi.expected != before[cpi.expected_path]
    assert {k for k in after if after[k] != before[k]} == {cpi.expected_path}
    assert _check(out).returncode == 0


def test_import_copies_nothing_twice_into_an_archive_clone(tmp_path: Path) -> None:
    """An output folder that already is a clone of the archive: import records it in place."""
    out = tmp_path / "clone"
    for src in ARCHIVED.glob("*.md"):
        target = out / "_posts" / Path(*_categories(src)) / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    stamps = mtimes(out)
    run = run_newsspider("index", "import", str(out), "-o", str(out))
    assert run.returncode == 0 and "imported 34" in run.stderr
    assert mtimes(out) == stamps and _check(out).returncode == 0


# --- what the settings switch off still holds ---


def test_spider_callbacks_return_no_value_from_a_generator() -> None:
    """WARN_ON_GENERATOR_RETURN_VALUE is off (Scrapy re-parses the callback's source on every
    response to give that warning); the mistake it warns about is checked here instead, with
    Scrapy's own test, on every callback and errback of every spider."""
    import inspect

    from scrapy.utils.misc import is_generator_with_return_value

    from newsspider.crawl.spiders.article import ArticleSpider
    from newsspider.crawl.spiders.sina import SinaSpider

    checked = 0
    for spider in (ArticleSpider, SinaSpider):
        for name, member in inspect.getmembers(spider, inspect.isfunction):
            if inspect.isgeneratorfunction(member):
                assert not is_generator_with_return_value(member), f"{spider.__name__}.{name}"
                checked += 1
    assert checked >= 4
