"""The replay-directory format on its own: reading (ReplayDir) and writing (RecordDir).

Scrapy-free by design; the crawls through the middlewares are in test_middlewares.py.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from w3lib.url import canonicalize_url

from newsspider.archive.replay import (
    MANIFEST_NAME,
    ManifestError,
    ManifestRow,
    RecordDir,
    ReplayDir,
    body_file_name,
    parse_manifest,
)

HEADER_LINE = "url\tfile\tstatus\tcontent_type\n"


def make_dir(root: Path, rows: list[str], files: dict[str, bytes] | None = None) -> Path:
    """A replay dir whose manifest is the header plus ``rows`` (already tab-joined lines)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, data in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / MANIFEST_NAME).write_text(HEADER_LINE + "".join(r + "\n" for r in rows), "utf-8")
    return root


def row(*fields: str) -> str:
    return "\t".join(fields)


# --- reading -------------------------------------------------------------------------------


def test_lookup_returns_status_headers_and_body(tmp_path: Path) -> None:
    gb = "新浪财经".encode("gb2312")
    d = make_dir(
        tmp_path / "r",
        [
            row(
                "https://finance.sina.com.cn/a.shtml", "a.html", "200", "text/html; charset=gb2312"
            ),
            row("https://n.sinaimg.cn/x.jpg", "img/0.jpg", "200", "image/jpeg"),
        ],
        {"a.html": gb, "img/0.jpg": b"\xff\xd8\xff\xe0jpeg"},
    )
    replay = ReplayDir(d)
    page = replay.lookup("https://finance.sina.com.cn/a.shtml")
    assert page is not None
    assert page.status == 200
    assert page.headers == {"Content-Type": "text/html; charset=gb2312"}
    assert page.read_body() == gb  # bytes as stored: no transcoding
    image = replay.lookup("https://n.sinaimg.cn/x.jpg")
    assert image is not None
    assert image.read_body() == b"\xff\xd8\xff\xe0jpeg"
    assert replay.lookup("https://n.sinaimg.cn/other.jpg") is None
    assert len(replay) == 2


def test_query_argument_order_and_fragment_do_not_matter(tmp_path: Path) -> None:
    d = make_dir(
        tmp_path / "r",
        [row("https://example.com/s?b=2&a=1", "p.html", "200", "text/html")],
        {"p.html": b"page"},
    )
    replay = ReplayDir(d)
    for url in (
        "https://example.com/s?a=1&b=2",
        "https://example.com/s?b=2&a=1",
        "https://example.com/s?a=1&b=2#comments",
    ):
        entry = replay.lookup(url)
        assert entry is not None, url
        assert entry.read_body() == b"page"
    assert replay.lookup("https://example.com/s?a=1") is None
    assert replay.lookup("https://example.com/s?a=1&b=3") is None


def test_first_row_for_a_canonical_url_wins(tmp_path: Path) -> None:
    d = make_dir(
        tmp_path / "r",
        [
            row("https://example.com/p?x=1&y=2", "first.html", "200", "text/html"),
            row("https://example.com/p?y=2&x=1", "second.html", "500", "text/plain"),
        ],
        {"first.html": b"first", "second.html": b"second"},
    )
    entry = ReplayDir(d).lookup("https://example.com/p?x=1&y=2")
    assert entry is not None
    assert (entry.status, entry.read_body()) == (200, b"first")


def test_blank_comment_crlf_bom_and_any_row_order(tmp_path: Path) -> None:
    d = tmp_path / "r"
    d.mkdir()
    (d / "b.txt").write_bytes(b"B")
    text = (
        "\ufeff# saved 2021-12-02\r\n"
        "\r\n"
        "url\tfile\tstatus\tcontent_type\r\n"
        "   \r\n"
        "# a comment between rows\r\n"
        "https://example.com/b\tb.txt\t200\ttext/plain\r\n"
        "https://example.com/a\t\t404\t\r\n"
    )
    (d / MANIFEST_NAME).write_bytes(text.encode("utf-8"))
    replay = ReplayDir(d)
    b = replay.lookup("https://example.com/b")
    a = replay.lookup("https://example.com/a")
    assert b is not None and b.read_body() == b"B"
    assert b.headers == {"Content-Type": "text/plain"}  # no stray \r in the header value
    assert a is not None and (a.status, a.read_body(), a.headers) == (404, b"", {})


def test_empty_file_field_is_a_bodiless_answer(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "r", [row("https://example.com/gone", "", "410", "text/html")])
    entry = ReplayDir(d).lookup("https://example.com/gone")
    assert entry is not None
    assert entry.path is None
    assert (entry.status, entry.read_body()) == (410, b"")


def test_row_without_trailing_content_type_field(tmp_path: Path) -> None:
    """Editors strip the trailing tab of an empty content_type; the row must still load."""
    d = make_dir(tmp_path / "r", [row("https://example.com/x", "", "404")])
    entry = ReplayDir(d).lookup("https://example.com/x")
    assert entry is not None and entry.status == 404 and entry.content_type == ""


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_rows(tmp_path: Path, status: int) -> None:
    d = make_dir(
        tmp_path / "r",
        [row("https://example.com/old", "->https://example.com/new?id=1", str(status), "")],
    )
    entry = ReplayDir(d).lookup("https://example.com/old")
    assert entry is not None
    assert entry.status == status
    assert entry.location == "https://example.com/new?id=1"
    assert entry.headers == {"Location": "https://example.com/new?id=1"}
    assert entry.read_body() == b""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (row("https://e.com/a", "->https://e.com/b", "200", ""), "redirect row has status 200"),
        (row("https://e.com/a", "->", "301", ""), "without a target"),
        (row("https://e.com/a", "", "abc", ""), "not a number"),
        (row("https://e.com/a", "", "999", ""), "not an HTTP status"),
        (row("https://e.com/a", "", "200", "text/html", "extra"), "expected 4"),
        ("https://e.com/a only-spaces 200", "expected 4"),
        (row("", "", "200", ""), "empty url"),
    ],
)
def test_malformed_rows_are_refused_with_their_line(
    tmp_path: Path, line: str, message: str
) -> None:
    d = make_dir(tmp_path / "r", ["# comment", line])
    with pytest.raises(ManifestError, match=message) as info:
        ReplayDir(d)
    assert f"{MANIFEST_NAME}:3" in str(info.value)  # header is line 1, the comment line 2


def test_wrong_or_missing_header_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "r"
    d.mkdir()
    (d / MANIFEST_NAME).write_text("url,file,status,content_type\n", "utf-8")
    with pytest.raises(ManifestError, match="expected the header line"):
        ReplayDir(d)
    (d / MANIFEST_NAME).write_text("# only a comment\n\n", "utf-8")
    with pytest.raises(ManifestError, match="no header line"):
        ReplayDir(d)


def test_missing_manifest_or_directory(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="does not exist"):
        ReplayDir(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="no manifest"):
        ReplayDir(tmp_path / "empty")


def test_non_utf8_manifest_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "r"
    d.mkdir()
    (d / MANIFEST_NAME).write_bytes(
        HEADER_LINE.encode() + "https://e.com/新闻\t\t404\t\n".encode("gb2312")
    )
    with pytest.raises(ManifestError, match="not UTF-8"):
        ReplayDir(d)


def test_missing_body_file_is_a_clear_error(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "r", [row("https://e.com/a", "pages/gone.html", "200", "text/html")])
    with pytest.raises(ManifestError, match=r"pages/gone\.html.*missing") as info:
        ReplayDir(d)
    assert f"{MANIFEST_NAME}:2" in str(info.value)


def test_directory_as_body_file_is_refused(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "r", [row("https://e.com/a", "pages", "200", "text/html")])
    (d / "pages").mkdir()
    with pytest.raises(ManifestError, match="not a regular file"):
        ReplayDir(d)


@pytest.mark.parametrize(
    "file",
    [
        "../secret.txt",
        "pages/../../secret.txt",
        "..\\secret.txt",
        "/etc/passwd",
        "C:\\Windows\\win.ini",
        "\\\\server\\share\\x",
    ],
)
def test_files_that_would_leave_the_directory_are_refused(tmp_path: Path, file: str) -> None:
    (tmp_path / "secret.txt").write_bytes(b"secret")
    d = make_dir(tmp_path / "r", [row("https://e.com/a", file, "200", "text/plain")])
    with pytest.raises(ManifestError, match="would leave the replay directory"):
        ReplayDir(d)


def test_a_refused_row_refuses_the_whole_directory_even_if_shadowed(tmp_path: Path) -> None:
    """A later duplicate never answers, but an escape attempt in it still means a bad archive."""
    d = make_dir(
        tmp_path / "r",
        [
            row("https://e.com/a", "ok.txt", "200", "text/plain"),
            row("https://e.com/a", "../../etc/passwd", "200", "text/plain"),
        ],
        {"ok.txt": b"ok"},
    )
    with pytest.raises(ManifestError, match="would leave"):
        ReplayDir(d)


def test_symlink_escaping_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_bytes(b"secret")
    d = make_dir(tmp_path / "r", [row("https://e.com/a", "pages/link.txt", "200", "text/plain")])
    (d / "pages").mkdir()
    os.symlink(tmp_path / "secret.txt", d / "pages" / "link.txt")
    with pytest.raises(ManifestError, match="outside the replay directory"):
        ReplayDir(d)


def test_symlinked_directory_escaping_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_bytes(b"x")
    d = make_dir(tmp_path / "r", [row("https://e.com/a", "ext/x.txt", "200", "text/plain")])
    os.symlink(outside, d / "ext")
    with pytest.raises(ManifestError, match="outside the replay directory"):
        ReplayDir(d)


def test_symlink_within_the_directory_is_allowed(tmp_path: Path) -> None:
    d = make_dir(
        tmp_path / "r",
        [row("https://e.com/a", "alias.txt", "200", "text/plain")],
        {"real.txt": b"real"},
    )
    os.symlink(d / "real.txt", d / "alias.txt")
    entry = ReplayDir(d).lookup("https://e.com/a")
    assert entry is not None and entry.read_body() == b"real"


def test_the_replay_directory_itself_may_be_a_symlink(tmp_path: Path) -> None:
    d = make_dir(
        tmp_path / "real", [row("https://e.com/a", "a.txt", "200", "text/plain")], {"a.txt": b"A"}
    )
    os.symlink(d, tmp_path / "link")
    entry = ReplayDir(tmp_path / "link").lookup("https://e.com/a")
    assert entry is not None and entry.read_body() == b"A"


def test_bodies_are_read_on_demand_not_held_in_memory(tmp_path: Path) -> None:
    d = make_dir(
        tmp_path / "r", [row("https://e.com/a", "a.txt", "200", "text/plain")], {"a.txt": b"v1"}
    )
    replay = ReplayDir(d)
    (d / "a.txt").write_bytes(b"v2")  # changed after load: a cached body would still say v1
    entry = replay.lookup("https://e.com/a")
    assert entry is not None and entry.read_body() == b"v2"


# --- writing -------------------------------------------------------------------------------


def test_record_writes_the_format_with_deterministic_file_names(tmp_path: Path) -> None:
    d = tmp_path / "rec"
    url = "https://finance.sina.com.cn/doc.shtml?b=2&a=1"
    with RecordDir(d) as rec:
        rec.record(url, 200, "text/html; charset=utf-8", b"<html>page</html>")
        rec.record("https://n.sinaimg.cn/x.jpg", 200, "image/jpeg", b"\xff\xd8jpeg")
        rec.record("https://e.com/missing", 404, "text/html", b"")
        rec.record("https://e.com/old", 301, "text/html", b"moved", location="https://e.com/new")

    digest = hashlib.sha1(canonicalize_url(url).encode()).hexdigest()
    assert body_file_name(url, "text/html") == f"pages/{digest}.html"
    image_name = body_file_name("https://n.sinaimg.cn/x.jpg", "image/jpeg")
    assert image_name.endswith(".jpg")
    assert (d / MANIFEST_NAME).read_text("utf-8") == (
        HEADER_LINE
        + f"{url}\tpages/{digest}.html\t200\ttext/html; charset=utf-8\n"
        + f"https://n.sinaimg.cn/x.jpg\t{image_name}\t200\timage/jpeg\n"
        + "https://e.com/missing\t\t404\ttext/html\n"
        + "https://e.com/old\t->https://e.com/new\t301\ttext/html\n"
    )
    assert (d / f"pages/{digest}.html").read_bytes() == b"<html>page</html>"
    # The redirect's body is not kept: replay never shows it.
    assert sorted(p.name for p in (d / "pages").iterdir()) == sorted(
        [f"{digest}.html", Path(image_name).name]
    )


def test_recorded_dir_replays_to_the_same_answers(tmp_path: Path) -> None:
    d = tmp_path / "rec"
    with RecordDir(d) as rec:
        rec.record("https://e.com/a", 200, "text/html; charset=gb2312", "中文".encode("gb2312"))
        rec.record("https://e.com/r", 302, "", location="https://e.com/a")
        rec.record("https://e.com/404", 404, "", b"")
    replay = ReplayDir(d)
    a = replay.lookup("https://e.com/a")
    r = replay.lookup("https://e.com/r")
    missing = replay.lookup("https://e.com/404")
    assert a is not None and a.read_body() == "中文".encode("gb2312")
    assert a.headers == {"Content-Type": "text/html; charset=gb2312"}
    assert r is not None and (r.status, r.location) == (302, "https://e.com/a")
    assert missing is not None and (missing.status, missing.read_body()) == (404, b"")


def test_same_url_with_reordered_query_is_one_row_and_one_file(tmp_path: Path) -> None:
    d = tmp_path / "rec"
    with RecordDir(d) as rec:
        rec.record("https://e.com/s?a=1&b=2", 200, "text/html", b"one")
        rec.record("https://e.com/s?b=2&a=1", 200, "text/html", b"two")
        assert len(rec.rows) == 1
    assert len(list((d / "pages").iterdir())) == 1
    entry = ReplayDir(d).lookup("https://e.com/s?a=1&b=2")
    assert entry is not None and entry.read_body() == b"two"


def test_recording_into_an_existing_manifest_adds_and_replaces(tmp_path: Path) -> None:
    d = make_dir(
        tmp_path / "r",
        [
            row("https://e.com/kept", "hand/kept.html", "200", "text/html"),
            row("https://e.com/again", "hand/again.html", "200", "text/html"),
            row("https://e.com/shared", "hand/shared.html", "200", "text/html"),
            row("https://e.com/shared-too", "hand/shared.html", "200", "text/html"),
        ],
        {
            "hand/kept.html": b"kept",
            "hand/again.html": b"old",
            "hand/shared.html": b"shared",
        },
    )
    with RecordDir(d) as rec:
        rec.record("https://e.com/again", 200, "text/plain", b"new")
        rec.record("https://e.com/shared", 404, "", b"")
        rec.record("https://e.com/added", 200, "text/html", b"added")

    replay = ReplayDir(d)
    kept, again = replay.lookup("https://e.com/kept"), replay.lookup("https://e.com/again")
    shared, shared_too = (
        replay.lookup("https://e.com/shared"),
        replay.lookup("https://e.com/shared-too"),
    )
    added = replay.lookup("https://e.com/added")
    assert kept is not None and kept.read_body() == b"kept"
    assert again is not None and (again.read_body(), again.content_type) == (b"new", "text/plain")
    assert shared is not None and shared.status == 404
    assert shared_too is not None and shared_too.read_body() == b"shared"
    assert added is not None and added.read_body() == b"added"
    # The replaced row's file is gone; a file another row still names is not.
    assert not (d / "hand/again.html").exists()
    assert (d / "hand/shared.html").exists()
    # Rows keep their place; new URLs come last.
    assert [r.url for r in parse_manifest((d / MANIFEST_NAME).read_text("utf-8"))] == [
        "https://e.com/kept",
        "https://e.com/again",
        "https://e.com/shared",
        "https://e.com/shared-too",
        "https://e.com/added",
    ]


def test_rerecord_with_another_content_type_replaces_the_file(tmp_path: Path) -> None:
    d = tmp_path / "rec"
    with RecordDir(d) as rec:
        first = rec.record("https://e.com/x", 200, "text/html", b"<p>html</p>")
    with RecordDir(d) as rec:
        second = rec.record("https://e.com/x", 200, "application/json", b"{}")
    assert first.file.endswith(".html") and second.file.endswith(".json")
    assert not (d / first.file).exists()
    assert (d / second.file).read_bytes() == b"{}"


def test_a_rerecorded_redirect_removes_the_old_body(tmp_path: Path) -> None:
    d = tmp_path / "rec"
    with RecordDir(d) as rec:
        page = rec.record("https://e.com/x", 200, "text/html", b"page")
        rec.record("https://e.com/x", 301, "", location="https://e.com/y")
    assert not (d / page.file).exists()
    entry = ReplayDir(d).lookup("https://e.com/x")
    assert entry is not None and entry.location == "https://e.com/y"


def test_manifest_on_disk_never_names_a_deleted_file(tmp_path: Path) -> None:
    """Old files go only after the manifest that stopped naming them is written."""
    d = tmp_path / "rec"
    with RecordDir(d) as rec:
        old = rec.record("https://e.com/x", 200, "text/html", b"page")
    rec = RecordDir(d, flush_interval=3600)
    rec.record("https://e.com/x", 200, "image/png", b"png")
    assert (d / old.file).exists()  # the manifest on disk still names it
    ReplayDir(d)  # and that manifest still loads
    rec.flush()
    assert not (d / old.file).exists()
    entry = ReplayDir(d).lookup("https://e.com/x")
    assert entry is not None and entry.read_body() == b"png"


def test_flush_interval_batches_manifest_rewrites(tmp_path: Path) -> None:
    d = tmp_path / "rec"
    rec = RecordDir(d, flush_interval=3600)
    rec.record("https://e.com/a", 200, "text/plain", b"a")
    assert not (d / MANIFEST_NAME).exists()
    rec.close()
    assert len(ReplayDir(d)) == 1


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    d = tmp_path / "rec"
    with RecordDir(d) as rec:
        for i in range(5):
            rec.record(f"https://e.com/{i}", 200, "text/plain", b"x" * i or b"0")
    leftovers = [p for p in d.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []


def test_fields_that_would_break_the_tsv(tmp_path: Path) -> None:
    with RecordDir(tmp_path / "rec") as rec:
        with pytest.raises(ValueError, match="tab or line break"):
            rec.record("https://e.com/a\tb", 200, "text/plain", b"x")
        with pytest.raises(ValueError, match="tab or line break"):
            rec.record("https://e.com/a", 301, "", location="https://e.com/\nb")
        with pytest.raises(ValueError, match="redirect status"):
            rec.record("https://e.com/a", 200, "", location="https://e.com/b")
        # A header value with odd whitespace is made safe rather than refused.
        written = rec.record("https://e.com/b", 200, "text/html;\tcharset=utf-8\r\n", b"b")
        assert written.content_type == "text/html; charset=utf-8"
    assert ReplayDir(tmp_path / "rec").lookup("https://e.com/b") is not None


def test_an_existing_broken_manifest_is_not_clobbered(tmp_path: Path) -> None:
    d = tmp_path / "rec"
    d.mkdir()
    (d / MANIFEST_NAME).write_text("not a manifest\n", "utf-8")
    with pytest.raises(ManifestError):
        RecordDir(d)
    assert (d / MANIFEST_NAME).read_text("utf-8") == "not a manifest\n"


def test_unknown_content_types_get_a_neutral_extension() -> None:
    assert body_file_name("https://e.com/a", "").endswith(".bin")
    assert body_file_name("https://e.com/a", "application/x-made-up").endswith(".bin")
    assert body_file_name("https://e.com/a", "TEXT/HTML; charset=GBK").endswith(".html")


def test_row_rendering_round_trips() -> None:
    rows = [
        ManifestRow("https://e.com/a", "a.html", 200, "text/html"),
        ManifestRow("https://e.com/b", "", 308, "", "https://e.com/c"),
    ]
    text = HEADER_LINE + "".join(r.to_line() + "\n" for r in rows)
    assert parse_manifest(text) == rows


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(min_size=0, max_size=256),
    status=st.sampled_from([200, 203, 404, 410, 500]),
    params=st.lists(
        st.tuples(st.sampled_from("abcxyz"), st.text("0123456789", max_size=3)),
        max_size=4,
        unique_by=lambda kv: kv[0],
    ),
    charset=st.sampled_from(["", "; charset=utf-8", "; charset=GB2312"]),
)
def test_record_then_replay_property(
    tmp_path_factory: pytest.TempPathFactory,
    body: bytes,
    status: int,
    params: list[tuple[str, str]],
    charset: str,
) -> None:
    d = tmp_path_factory.mktemp("prop")
    query = "&".join(f"{k}={v}" for k, v in params)
    url = "https://e.com/p" + (f"?{query}" if query else "")
    with RecordDir(d) as rec:
        rec.record(url, status, "text/html" + charset, body)
    reordered = "https://e.com/p" + (
        "?" + "&".join(f"{k}={v}" for k, v in reversed(params)) if params else ""
    )
    entry = ReplayDir(d).lookup(reordered)
    assert entry is not None
    assert (entry.status, entry.read_body(), entry.content_type) == (
        status,
        body,
        "text/html" + charset,
    )


# --- defects refused before the crawl, size caps before reading (issue #14) -----------------


def _cli(*argv: str) -> tuple[int, str]:
    import subprocess
    import sys

    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    proc = subprocess.run([sys.executable, "-m", "newsspider.cli", *argv], capture_output=True,
                          text=True, timeout=120, env=env, check=False)  # fmt: skip
    return proc.returncode, proc.stderr


ARTICLE_URL = "https://finance.sina.com.cn/china/2023-01-01/doc-izzsyn000960.shtml"
DEFECTS = {
    "status abc": ([row(ARTICLE_URL, "a.html", "abc", "text/html")], {"a.html": b"<html>"},
                   "status 'abc' is not a number"),
    "file ../../etc/passwd": ([row(ARTICLE_URL, "../../etc/passwd", "200", "text/html")], {},
                              "would leave the replay directory"),
    "missing body file": ([row(ARTICLE_URL, "gone.html", "200", "text/html")], {},
                          "is missing from"),
    "redirect without a target": ([row(ARTICLE_URL, "->", "302", "")], {}, "without a target"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(DEFECTS))
def test_check_replay_source_refuses_each_defect(tmp_path: Path, name: str) -> None:
    from newsspider.archive.warc import check_replay_source
    from newsspider.errors import ReplayDamaged, UsageError

    rows, files, message = DEFECTS[name]
    directory = make_dir(tmp_path / "replay", rows, files)
    with pytest.raises(ReplayDamaged, match=message) as caught:
        check_replay_source(directory)
    assert isinstance(caught.value, UsageError) and "\n" not in str(caught.value)


@pytest.mark.parametrize("command", ["crawl", "fetch"])
def test_the_command_refuses_a_damaged_replay_with_one_line_exit_2(
    tmp_path: Path, command: str
) -> None:
    rows, files, message = DEFECTS["status abc"]
    directory = make_dir(tmp_path / "replay", rows, files)
    out = tmp_path / "out"
    argv = [command, *([ARTICLE_URL] if command == "fetch" else []), "--replay", str(directory),
            "-o", str(out)]  # fmt: skip
    code, stderr = _cli(*argv)
    assert code == 2, stderr
    assert stderr.strip().count("\n") == 0, stderr
    assert stderr.startswith("newsspider: error: --replay: ") and message in stderr
    assert not (out / "_posts").exists()


def test_scrapy_crawl_refuses_a_damaged_replay_in_the_middleware(tmp_path: Path) -> None:
    """``scrapy crawl`` has no exit status of its own: the replay middleware refuses to load,
    so the crawler never starts and nothing is written."""
    from scrapy.utils.test import get_crawler

    from newsspider.crawl.middlewares import ReplayDownloaderMiddleware
    from newsspider.errors import ReplayDamaged

    rows, files, _ = DEFECTS["file ../../etc/passwd"]
    directory = make_dir(tmp_path / "replay", rows, files)
    crawler = get_crawler(settings_dict={"NEWSSPIDER_REPLAY_DIR": str(directory)})
    with pytest.raises(ReplayDamaged):
        ReplayDownloaderMiddleware.from_crawler(crawler)


def test_a_body_over_the_cap_is_refused_from_its_size_on_disk(tmp_path: Path) -> None:
    from newsspider.archive.replay import BodyTooLarge

    directory = make_dir(tmp_path / "replay", [row(ARTICLE_URL, "big.html", "200", "text/html")],
                         {"big.html": b""})  # fmt: skip
    with open(directory / "big.html", "r+b") as fh:
        fh.truncate(1 << 30)  # a sparse 1 GB file: no block of it is ever read
    entry = ReplayDir(directory).lookup(ARTICLE_URL)
    assert entry is not None and entry.body_size() == 1 << 30
    with pytest.raises(BodyTooLarge) as caught:
        entry.read_body(16 << 20)
    assert caught.value.size == 1 << 30


def test_a_sparse_1gb_replay_body_fails_the_article_without_being_read(tmp_path: Path) -> None:
    """Through the real command: the article fails with the size-cap reason, and the process
    never holds the body (peak RSS far under 1 GB)."""
    import subprocess
    import sys

    directory = make_dir(tmp_path / "replay", [row(ARTICLE_URL, "big.html", "200", "text/html")],
                         {"big.html": b""})  # fmt: skip
    with open(directory / "big.html", "r+b") as fh:
        fh.truncate(1 << 30)
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(p.stderr)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    proc = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "newsspider.cli", "fetch",
         ARTICLE_URL, "--replay", str(directory), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    code, rss_kb = map(int, proc.stdout.split())
    assert code == 1, proc.stderr
    assert (
        f"failed: {ARTICLE_URL}: page larger than the download size cap of 16777216 bytes"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert rss_kb < 400 * 1024, f"peak RSS {rss_kb} KB: the body was read"
