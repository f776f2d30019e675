"""An archive remembers its form (archive/form.py): never silently extended in another one.

Why: ``--compact-body`` and ``--images`` change every post's bytes. Before the form was
recorded, a ``fetch`` without ``--compact-body`` into a compact archive wrote original-form posts
beside compact ones (half the site then showed Sina's markup as code blocks), and a run without
``--images remote`` relinked a remote archive's posts to local copies. These tests run the real
command line (and ``scrapy crawl``) on replayed pages, in fresh processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT, Run, golden_cases, run_newsspider

from newsspider.archive.form import (
    Form,
    FormConflict,
    compact_post,
    explicit_bool,
    infer_form,
    read_form,
    resolve_form,
    write_form,
)
from newsspider.errors import ArchiveDamaged, UsageError

CASE = next(c for c in golden_cases() if c.name == "seed-digital-governance")
SAMPLE = PROJECT / "examples" / "sample-crawl"


def fetch(out: Path, *options: str) -> Run:
    return run_newsspider("fetch", CASE.url, "--replay", str(CASE.dir), "--channel",
                          CASE.channel, "--output", str(out), *options)  # fmt: skip


def crawl(out: Path, *options: str) -> Run:
    return run_newsspider("crawl", "--replay", str(SAMPLE), "--output", str(out), *options)


def posts(out: Path) -> dict[str, bytes]:
    base = out / "_posts"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*.md"))}


def form_json(out: Path) -> dict[str, object]:
    return dict(json.loads((out / ".newsspider" / "form.json").read_text("utf-8")))


def test_first_write_records_the_form_and_later_runs_follow_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = fetch(out, "--images", "remote")
    assert first.returncode == 0, first.stderr
    assert (out / CASE.expected_path).read_bytes() == CASE.expected  # golden: original + remote
    assert form_json(out) == {"version": 1, "body": "original", "images": "remote",
                              "image_prefix": "/", "origin": "first write"}  # fmt: skip
    # no option given: the recorded form, not the defaults (local images would relink the post)
    again = fetch(out)
    assert again.returncode == 0, again.stderr
    assert "unchanged 1" in again.stderr.splitlines()[-1]
    assert (out / CASE.expected_path).read_bytes() == CASE.expected


def test_a_run_that_writes_nothing_records_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = "https://finance.sina.com.cn/x/doc-inothere1234567.shtml"
    run = run_newsspider("fetch", missing, "--replay", str(CASE.dir), "--output", str(out),
                         "--images", "remote")  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert not (out / ".newsspider" / "form.json").exists()
    assert fetch(out, "--compact-body").returncode == 0  # the folder is still free


def test_contradicting_options_are_refused_with_the_way_to_convert(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert fetch(out, "--images", "remote").returncode == 0
    before = posts(out)
    images = fetch(out, "--images", "local")
    assert images.returncode == 2
    assert f"newsspider relink --images local -o {out}" in images.stderr
    compact = fetch(out, "--compact-body")
    assert compact.returncode == 2
    assert f"newsspider relink --compact-body -o {out}" in compact.stderr
    assert "Traceback" not in images.stderr + compact.stderr
    assert posts(out) == before, "a refused run writes nothing"


def test_compact_cannot_go_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert fetch(out, "--compact-body", "--images", "off").returncode == 0
    back = fetch(out, "-s", "NEWSSPIDER_COMPACT_BODY=false")
    assert back.returncode == 2
    assert "cannot be converted back" in back.stderr
    same = fetch(out, "-s", "NEWSSPIDER_COMPACT_BODY=true")  # agreeing explicitly is fine
    assert same.returncode == 0, same.stderr


def test_relink_compact_body_gives_a_compact_crawls_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert crawl(a).returncode == 0
    assert crawl(b, "--compact-body").returncode == 0
    assert posts(a) != posts(b), "the sample's bodies hold blank lines"
    done = run_newsspider("relink", "--compact-body", "-o", str(a))
    assert done.returncode == 0, done.stderr
    assert "rewrote 5" in done.stderr
    assert posts(a) == posts(b)
    assert form_json(a)["body"] == "compact"
    assert (
        crawl(a, "--refresh")
        .stderr.splitlines()[-1]
        .startswith("newsspider: archived 0, updated 0, unchanged 5")
    )
    check = run_newsspider("index", "check", "-o", str(a))
    assert check.returncode == 0, check.stdout + check.stderr  # hashes follow the rewrite


def test_relink_images_records_the_new_mode(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert crawl(out, "--images", "remote").returncode == 0
    done = run_newsspider("relink", "--images", "local", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert form_json(out)["images"] == "local"
    linked = posts(out)
    again = crawl(out, "--refresh")
    assert again.returncode == 0, again.stderr
    assert "unchanged 5" in again.stderr.splitlines()[-1]
    assert posts(out) == linked


def test_an_archive_without_a_record_gets_one_inferred(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert crawl(out, "--compact-body", "--images", "remote").returncode == 0
    (out / ".newsspider" / "form.json").unlink()  # as made before the form was recorded
    assert infer_form(out).body == "compact" and infer_form(out).images == "remote"
    refused = crawl(out, "--images", "local")
    assert refused.returncode == 2 and "relink --images local" in refused.stderr
    again = crawl(out, "--refresh")
    assert again.returncode == 0, again.stderr
    assert "unchanged 5" in again.stderr.splitlines()[-1]
    assert form_json(out) == {"version": 1, "body": "compact", "images": "remote",
                              "image_prefix": "/", "origin": "inferred from the posts"}  # fmt: skip


def test_local_images_and_their_prefix_are_inferred(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = crawl(out, "-s", "NEWSSPIDER_IMAGE_URL_PREFIX=/blog/")
    assert done.returncode == 0, done.stderr
    (out / ".newsspider" / "form.json").unlink()
    got = infer_form(out)
    assert (got.body, got.images, got.image_prefix) == ("original", "local", "/blog/")


def test_scrapy_crawl_honours_the_form_of_a_site(tmp_path: Path) -> None:
    """``scrapy crawl`` (and so Scrapyd) reads the record too: a site's archive stays compact
    with local images although no option says so."""
    site = tmp_path / "site"
    assert run_newsspider("site", "init", str(site)).returncode == 0
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "sina", "-a", "channel=china",
         "-s", f"NEWSSPIDER_REPLAY_DIR={SAMPLE}", "-s", f"NEWSSPIDER_OUTPUT={site / 'source'}",
         "-s", "LOG_LEVEL=ERROR"],
        cwd=PROJECT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = posts(site / "source")
    assert len(written) == 5
    for name, data in written.items():
        text = data.decode("utf-8")
        assert compact_post(text) == text, f"{name}: a whitespace-only line left in the body"
        assert 'src="https://n.sinaimg.cn/' not in text, f"{name}: a remote image link"
        assert 'src="/images/n.sinaimg.cn/' in text, name
    assert form_json(site / "source")["origin"] == "site init"


def test_a_damaged_record_is_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / ".newsspider").mkdir(parents=True)
    (out / ".newsspider" / "form.json").write_text("{not json", "utf-8")
    run = fetch(out)
    assert run.returncode == 2
    assert "form.json" in run.stderr and "Traceback" not in run.stderr
    with pytest.raises(ArchiveDamaged, match="delete it"):
        read_form(out)


# --- the rules, without a crawl -------------------------------------------------------------


def test_resolve_form_rules(tmp_path: Path) -> None:
    empty = resolve_form(tmp_path / "new", images="remote")
    assert (empty.form.images, empty.form.body, empty.recorded) == ("remote", "original", False)
    write_form(tmp_path / "a", Form(body="compact", images="local", image_prefix="/x/"))
    assert resolve_form(tmp_path / "a").form == Form("compact", "local", "/x/", "first write")
    assert resolve_form(tmp_path / "a", image_prefix="/x").recorded  # same prefix, no slash
    with pytest.raises(FormConflict, match="image prefix"):
        resolve_form(tmp_path / "a", image_prefix="/y/")
    with pytest.raises(FormConflict, match="cannot be converted back"):
        resolve_form(tmp_path / "a", body="original")
    write_form(tmp_path / "b", Form(images="remote"))
    resolve_form(tmp_path / "b", image_prefix="/other/")  # a prefix is moot without local images
    with pytest.raises(UsageError):
        resolve_form(tmp_path / "b", images="sometimes")


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), (True, True), ("1", True), ("True", True), ("off", False),
    ("false", False), (0, False),
])  # fmt: skip
def test_explicit_bool(value: object, expected: bool | None) -> None:
    assert explicit_bool(value) is expected


def test_explicit_bool_refuses_nonsense() -> None:
    with pytest.raises(UsageError, match="not a boolean"):
        explicit_bool("maybe")


def test_compact_post_keeps_an_already_compact_post() -> None:
    text = CASE.expected.decode("utf-8")
    once = compact_post(text)
    assert once != text and compact_post(once) == once
    assert once.endswith("</div>\n            ") and once.startswith("\n---\ntitle: ")
    assert compact_post("not a post") == "not a post"
