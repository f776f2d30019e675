"""``newsspider export --format jsonl`` and ``crawl -O FILE.jsonl`` over replayed channel crawls."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_newsspider
from exportutil import GOLDEN, N_SYNTHETIC, channel_replay, crawl, export
from rollreplay import SEED_BODY_PHRASE

from newsspider.archive.post import escape_braces

ARCHIVED = Path(__file__).parent / "fixtures" / "archived"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(output folder, feed file) of one replayed crawl of the china channel, with ``-O``."""
    tmp = tmp_path_factory.mktemp("export")
    replay = channel_replay(tmp / "replay").write()
    crawl(replay, tmp / "out", "-O", str(tmp / "feed.jsonl"))
    return tmp / "out", tmp / "feed.jsonl"


def front_matter(text: str) -> dict[str, Any]:
    head = text.split("\n---\n", 2)[1]
    meta = yaml.safe_load(head.replace("&#123;", "{").replace("&#125;", "}"))
    assert isinstance(meta, dict)
    return meta


def assert_round_trip(out: Path, records: list[dict[str, Any]]) -> None:
    """Every post on disk has one record, and the record says what the post says."""
    on_disk = {p.relative_to(out).as_posix() for p in (out / "_posts").rglob("*.md")}
    assert sorted(r["path"] for r in records) == sorted(on_disk)
    for rec in records:
        text = (out / rec["path"]).read_text("utf-8")
        meta = front_matter(text)
        assert meta["title"] == rec["title"], rec["path"]
        assert meta["categories"] == rec["categories"], rec["path"]
        assert str(meta["date"]) == rec["date"], rec["path"]
        assert meta["headimg"] == rec["headimg"] == meta["thumbnail"], rec["path"]
        # the body, wrapped and brace-escaped as FORMAT.md writes it, is the post's tail
        tail = escape_braces(f"\n---\n\n<div>   \n{rec['body_html']}  \n</div>\n            ")
        assert text.endswith(tail), rec["path"]
        assert "<" not in rec["text"] and rec["text"].strip()


def test_export_round_trips_with_the_posts(archive: tuple[Path, Path]) -> None:
    out, _ = archive
    records = export(out)
    assert len(records) == len(GOLDEN) + N_SYNTHETIC
    assert_round_trip(out, records)
    by_url = {r["url"]: r for r in records}
    for g in GOLDEN.values():
        rec = by_url[g.url]
        assert rec["path"] == g.expected_path and rec["doc_id"] == g.docid
        assert rec["channel"] == "china" and rec["status"] == "archived"
        assert rec["source"] and rec["keywords"] is not None
        # published: ISO 8601 with Beijing's offset, the same instant as the front matter date
        assert rec["published"].endswith("+08:00")
        when = datetime.fromisoformat(rec["published"])
        assert when == parsedate_to_datetime(rec["date"])
        assert set(rec["local_images"]) <= set(rec["images"])
    seed = by_url[GOLDEN["seed-digital-governance"].url]
    assert SEED_BODY_PHRASE in seed["text"] and SEED_BODY_PHRASE in seed["body_html"]
    assert seed["editor"] == "王珊珊" and seed["images"]


def test_export_order_and_filters(archive: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = archive
    records = export(out)
    instants = [(datetime.fromisoformat(r["published"]), r["key"]) for r in records]
    assert instants == sorted(instants)
    # deterministic bytes, to a file as to standard output
    target = tmp_path / "sub" / "all.jsonl"
    run = run_newsspider("export", "-o", str(out), "--to", str(target))
    assert run.returncode == 0 and f"exported {len(records)} article" in run.stderr
    again = run_newsspider("export", "-o", str(out))
    assert target.read_text("utf-8") == again.stdout
    assert [json.loads(line) for line in again.stdout.splitlines()] == records
    # --since keeps the newer ones, Beijing time unless it says otherwise
    middle = instants[len(instants) // 2][0]
    since = export(out, "--since", middle.isoformat())
    assert since == [r for r, (t, _) in zip(records, instants, strict=True) if t >= middle]
    assert 0 < len(since) < len(records)
    assert export(out, "--channel", "china") == records
    assert export(out, "--channel", "china-macro") == []
    bad = run_newsspider("export", "-o", str(out), "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr
    missing = run_newsspider("export", "-o", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no archive index" in missing.stderr


def test_crawl_feed_has_one_line_per_article_of_that_crawl(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    out, feed = archive
    lines = [json.loads(line) for line in feed.read_text("utf-8").splitlines()]
    assert sorted(item["url"] for item in lines) == sorted(r["url"] for r in export(out))
    seed = next(i for i in lines if i["url"] == GOLDEN["seed-digital-governance"].url)
    assert seed["created_at"] == "2021-12-02T21:15:52+08:00"  # datetimes keep their offset
    assert seed["title"] and seed["body"] and seed["channel"] == "china"
    # a second crawl of the same channel archives nothing: -O replaces the file with nothing
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    replay = channel_replay(tmp_path / "replay").write()
    crawl(replay, copy, "-O", str(feed.with_name("second.jsonl")))
    assert feed.with_name("second.jsonl").read_text("utf-8") == ""
    # an unknown format is a usage error before anything runs
    bad = run_newsspider("crawl", "--replay", str(replay), "-o", str(copy), "-O", "x.unknown")
    assert bad.returncode == 2 and "-O" in bad.stderr


def test_export_after_import_and_repair(tmp_path: Path) -> None:
    """Imported posts export too, and a repaired index exports what the posts say."""
    out = tmp_path / "out"
    run = run_newsspider("index", "import", str(ARCHIVED), "-o", str(out))
    assert run.returncode == 0, run.stderr
    records = export(out)
    assert len(records) == len(list(ARCHIVED.glob("*.md")))
    assert_round_trip(out, records)
    for rec in records:
        assert rec["status"] == "imported" and rec["url"] == ""
        assert rec["published"].endswith("+08:00")
        when = datetime.fromisoformat(rec["published"])
        if rec["date"].endswith("GMT"):  # a few old posts have a bare "2021-08-07 05:06:37"
            assert when == parsedate_to_datetime(rec["date"])
    # the derived columns are not journaled: a rebuilt index takes them from the posts again
    for f in (out / ".newsspider").glob("index.sqlite3*"):
        f.unlink()
    assert run_newsspider("index", "check", "-o", str(out), "--repair").returncode == 0
    assert export(out) == records
