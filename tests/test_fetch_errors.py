"""Bad input to ``newsspider fetch``: a clear line per URL, exit 1, and nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import GOLDEN, run_newsspider

SEED = GOLDEN / "seed-digital-governance" / "article.html"
BASE = "https://finance.sina.com.cn/china/2022-01-0{n}/doc-ikbadcase000{n}.shtml"


def replay_dir(root: Path, rows: list[tuple[str, bytes | None, int, str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = ["url\tfile\tstatus\tcontent_type"]
    for i, (url, data, status, ctype) in enumerate(rows):
        name = ""
        if data is not None:
            name = f"f{i}.bin"
            (root / name).write_bytes(data)
        lines.append(f"{url}\t{name}\t{status}\t{ctype}")
    (root / "MANIFEST.tsv").write_text("\n".join(lines) + "\n", "utf-8")
    return root


def seed_with_body(inner: str) -> bytes:
    html = SEED.read_text("utf-8")
    start = html.index('<div class="article" id="artibody"')
    end = html.index("<!-- 原始正文end -->")
    return (
        html[:start] + f'<div class="article" id="artibody">{inner}</div>\n' + html[end:]
    ).encode()


HTML = "text/html; charset=utf-8"
CASES = {
    "http-404": (None, 404, "", r"HTTP 404"),
    "not-in-replay": ("skip", 0, "", r"HTTP 404"),
    "empty-body": (b"", 200, HTML, r"empty page"),
    "not-html": (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 200, "image/png", r"not an HTML page"),
    "unknown-template": (b"<html><body><h1>hi</h1><p>text</p></body></html>", 200, HTML,
                         r"unknown page template"),
    # no body container and no article text elsewhere either: since #18 a page that only lost
    # its container's id is archived by the generic extractor (tests/pages/test_redesign.py)
    "no-body-container": (
        seed_with_body("").replace(b'id="artibody"', b'id="somethingelse"'), 200, HTML,
        r"body container #artibody missing"),
    "video-only": (seed_with_body('\n<div class="video-2017" id="videoList0"></div>\n'
                                  "<script>var v=1;</script>\n"), 200, HTML,
                   r"neither text nor images|no text and no images"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_reported_and_nothing_written(name: str, tmp_path: Path) -> None:
    data, status, ctype, reason = CASES[name]
    url = BASE.format(n=1)
    rows = [] if data == "skip" else [(url, data, status, ctype)]
    replay = replay_dir(tmp_path / "replay", rows)
    out = tmp_path / "out"
    run = run_newsspider("fetch", url, "--replay", str(replay), "--output", str(out))
    failed = [line for line in run.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and url in failed[0]
    assert re.search(reason, failed[0]), failed[0]
    assert "newsspider: archived 0, updated 0, unchanged 0, failed 1" in run.stderr.splitlines()
    # a page that lost its template or body container is what a redesign looks like: the health
    # alarm, exit 3, for fetch as for crawl (#16); anything else is a failure, exit 1
    redesign = name in ("unknown-template", "no-body-container")
    assert run.returncode == (3 if redesign else 1), run.stderr
    assert ("newsspider: warning: health:" in run.stderr) == redesign
    assert not (out / "_posts").exists()


def test_one_bad_url_does_not_stop_the_good_one(tmp_path: Path) -> None:
    good = "https://finance.sina.com.cn/china/dfjj/2021-12-02/doc-ikyamrmy6387093.shtml"
    bad = BASE.format(n=2)
    replay = replay_dir(tmp_path / "replay", [(good, SEED.read_bytes(), 200, HTML)])
    out = tmp_path / "out"
    run = run_newsspider("fetch", good, bad, "--replay", str(replay), "--output", str(out),
                         "--images", "off")  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1] == (
        "newsspider: archived 1, updated 0, unchanged 0, failed 1"
    )
    assert len(list((out / "_posts").rglob("*.md"))) == 1


def test_photo_article_is_an_article(tmp_path: Path) -> None:
    inner = "".join(
        f'<div class="img_wrapper"><img src="//n.sinaimg.cn/photo/{i}.jpg" alt="">'
        f'<span class="img_descr">图{i}</span></div>\n'
        for i in range(3)
    )
    url = BASE.format(n=3)
    replay = replay_dir(tmp_path / "replay", [(url, seed_with_body(inner), 200, HTML)])
    out = tmp_path / "out"
    run = run_newsspider("fetch", url, "--replay", str(replay), "--output", str(out),
                         "--images", "off")  # fmt: skip
    assert run.returncode == 0, run.stderr
    (post,) = (out / "_posts").rglob("*.md")
    assert "headimg: 'https://n.sinaimg.cn/photo/0.jpg'" in post.read_text("utf-8")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_newsspider("fetch", "--channel", "nope", "https://x/").returncode == 2
    assert run_newsspider("fetch", "https://x/", "--replay", str(tmp_path)).returncode == 2
    assert run_newsspider("fetch", "https://x/", "--images", "sometimes").returncode == 2
    assert run_newsspider("nonsense").returncode == 2
