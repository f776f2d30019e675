"""FORMAT.md "File-name length": every post file name fits in 255 bytes of UTF-8, cut at a
character boundary, and the rule changes no name that already fitted."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from newsspider.archive.names import (
    MAX_FILE_NAME_BYTES,
    name_stem,
    post_file_name,
    safe_id,
    with_suffix,
)
from newsspider.archive.preflight import check_output
from newsspider.archive.store import Archive
from newsspider.article import Article
from newsspider.errors import ArchiveDamaged, UsageError

ALPHABET = "数字化转型推进会治理新蓝图ａｂｃ😀é abc—–“”:/?*[]|"


def fits(name: str) -> bool:
    data = name.encode("utf-8")
    return len(data) <= MAX_FILE_NAME_BYTES and data.decode("utf-8") == name


@pytest.mark.parametrize("seed", range(200))
def test_every_suffixed_name_fits(seed: int) -> None:
    rng = random.Random(seed)
    title = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 160)))
    docid = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in
                    range(rng.randint(1, 64)))  # fmt: skip
    stem = name_stem(title, docid)
    plain, suffixed = post_file_name(stem), post_file_name(with_suffix(stem, docid))
    assert fits(plain) and fits(suffixed)
    assert suffixed.endswith(f" ({safe_id(docid)}).md")  # the id and .md are never cut
    assert not suffixed[: -len(f" ({docid}).md")].endswith(" ")


def test_sina_length_ids_change_nothing() -> None:
    title = "测" * 66 + "试a"  # 200 bytes of title after the cut
    stem = name_stem(title, "")
    assert len(stem.encode()) <= 200
    assert with_suffix(stem, "kyamrmy6387093") == f"{stem} (kyamrmy6387093)"
    assert post_file_name(stem) == stem + ".md"


def test_a_long_id_cuts_the_title_part_at_a_character_boundary() -> None:
    stem = name_stem("关" * 70, "")  # 210 bytes -> cut to 198 (66 characters)
    name = post_file_name(with_suffix(stem, "a" * 60))
    assert len(name.encode("utf-8")) <= 255
    assert name == "关" * 63 + f" ({'a' * 60}).md"  # 189 bytes of title: 63 whole characters


def test_archive_writes_both_articles_of_a_long_title(tmp_path: Path) -> None:
    archive = Archive(tmp_path, images="remote")
    try:
        for docid in ("a" * 59 + "1", "b" * 59 + "2"):
            archive.save(Article(url=f"https://finance.sina.com.cn/c/doc-i{docid}.shtml",
                                 doc_id=docid, title="关" * 70, body="<p>x</p>"))  # fmt: skip
    finally:
        archive.close()
    names = sorted(p.name for p in tmp_path.rglob("*.md"))
    assert len(names) == 2 and all(fits(n) for n in names)


def test_preflight_refuses_what_cannot_be_an_output(tmp_path: Path) -> None:
    a_file = tmp_path / "f"
    a_file.write_text("x")
    for bad in (a_file, a_file / "below"):
        with pytest.raises(UsageError, match="a file is where the output folder should be"):
            check_output(bad, deep=True)
    (tmp_path / "out" / ".newsspider").mkdir(parents=True)
    check_output(tmp_path / "out", deep=True)  # a fresh folder: fine
    check_output(tmp_path / "not-yet" / "made", deep=False)  # can be created: fine
    assert not (tmp_path / "not-yet").exists()  # and is not created by the check
    (tmp_path / "out" / ".newsspider" / "journal.jsonl").write_text(
        '{"key": "k", "path": "_posts/x.md"}\n'
    )
    check_output(tmp_path / "out", deep=True)  # not an article row: nothing is lost
    (tmp_path / "out" / ".newsspider" / "index.sqlite3").write_bytes(b"\0" * 4096)
    with pytest.raises(ArchiveDamaged, match="index check --repair"):
        check_output(tmp_path / "out", deep=False)
