"""What a user meets first, through the real ``newsspider`` command (a subprocess each time):
exit statuses as README's table says, one-line refusals, no traceback at the default level,
``extract`` printing, ``--version``, the same option checks in every command (issue #15)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest
from faultcrawl import Site, command, run
from server import LocalHTTPServer

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
SAMPLE = PROJECT / "examples" / "sample-crawl"
ARTICLE = "https://finance.sina.com.cn/china/hgjj/2022-05-16/doc-imcwiwst8326715.shtml"
TITLE = "1-4月份全国居民消费价格（CPI）同比上涨1.4%"
_SCRIPT = Path(sys.executable).with_name("newsspider")
#: the installed console script (what a user types); ``python -m newsspider`` if there is none
NEWSSPIDER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "newsspider"]


def newsspider(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    run_env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    run_env.pop("NO_COLOR", None)
    run_env.update(env or {})
    return subprocess.run(
        [*NEWSSPIDER, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or PROJECT,
        env=run_env,
        check=False,
    )


def one_line_refusal(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, one line on stderr naming the problem, nothing on stdout, no traceback."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1, proc.stderr
    assert "error" in lines[0] and "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert proc.stdout == ""


def posts(out: Path) -> list[Path]:
    return sorted((out / "_posts").rglob("*.md")) if (out / "_posts").exists() else []


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's sample crawl, once for the module."""
    out = tmp_path_factory.mktemp("cli") / "output"
    done = newsspider("crawl", "--replay", str(SAMPLE), "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert len(posts(out)) == 5
    return out


# --- printing what it promises -------------------------------------------------------------


def test_extract_prints_the_fields_as_text_and_as_json() -> None:
    text = newsspider("extract", ARTICLE, "--replay", str(SAMPLE))
    assert text.returncode == 0, text.stderr
    assert f"title: {TITLE}" in text.stdout.splitlines()
    assert f"url: {ARTICLE}" in text.stdout.splitlines()
    assert re.search(r"^body: <\d+ characters>$", text.stdout, re.MULTILINE)
    as_json = newsspider("extract", ARTICLE, "--replay", str(SAMPLE), "--json")
    assert as_json.returncode == 0, as_json.stderr
    lines = as_json.stdout.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["title"] == TITLE and data["url"] == ARTICLE and "<p" in data["body"]
    assert "Traceback" not in text.stderr + as_json.stderr


def test_extract_of_a_missing_page_says_failed_and_exits_1() -> None:
    missing = "https://finance.sina.com.cn/china/2022-01-01/doc-inotthere0000001.shtml"
    proc = newsspider("extract", missing, "--replay", str(SAMPLE))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert [line for line in proc.stderr.splitlines() if line.startswith("failed: ")] == [
        line for line in proc.stderr.splitlines() if missing in line
    ]
    assert "Traceback" not in proc.stderr


_OFFLINE = '''\
"""No network on this machine: every name lookup and connection fails (test only)."""
import socket


def _no_network(*args, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def _refused(*args, **kwargs):
    raise ConnectionRefusedError(111, "Connection refused (no network)")


socket.getaddrinfo = _no_network
socket.gethostbyname = _no_network
socket.gethostbyname_ex = _no_network
socket.create_connection = _refused
'''


def test_offline_fetch_gives_one_failed_line_per_url_no_traceback_exit_1(tmp_path: Path) -> None:
    """The state of every test machine, made certain: name lookups fail in the child."""
    (tmp_path / "offline").mkdir()
    (tmp_path / "offline" / "sitecustomize.py").write_text(_OFFLINE, "utf-8")
    urls = [
        "https://finance.sina.com.cn/china/dfjj/2021-12-02/doc-ikyamrmy6387093.shtml",
        "https://finance.sina.com.cn/jjxw/2021-12-28/doc-ikyamrmz1472635.shtml",
    ]
    out = tmp_path / "out"
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "offline"), str(PROJECT)])}
    proc = newsspider("fetch", *urls, "-o", str(out), "-s", "RETRY_TIMES=1", env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    failed = [line for line in lines if line.startswith("failed: ")]
    assert sorted(line.split(": ")[1] for line in failed) == sorted(urls), proc.stderr
    assert lines[-1].startswith("newsspider: archived 0,") and "failed 2" in lines[-1]
    assert len(lines) == 3, proc.stderr  # the failed lines and the summary, nothing else
    assert "Traceback" not in proc.stderr and "ERROR" not in proc.stderr
    # the failures are recorded, as a crawl's are
    listed = newsspider("index", "failed", "-o", str(out))
    for url in urls:
        assert url in listed.stdout, (listed.stdout, listed.stderr)
    # DEBUG keeps Scrapy's records for a bug report
    debug = newsspider("fetch", urls[0], "-o", str(out), "-s", "RETRY_TIMES=0",
                       "--log-level", "DEBUG", env=env, timeout=60)  # fmt: skip
    assert debug.returncode == 1 and "[scrapy" in debug.stderr


# --- exit statuses ------------------------------------------------------------------------


def test_a_pipeline_that_cannot_load_is_exit_2_not_an_empty_success(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = newsspider("crawl", "--replay", str(SAMPLE), "-o", str(out),
                      "-s", 'ITEM_PIPELINES={"nope.Missing": 300}')  # fmt: skip
    one_line_refusal(proc, "could not start", "nope")
    assert posts(out) == []


def test_an_unsupported_scrapy_is_exit_2_with_the_requirement(tmp_path: Path) -> None:
    """What an old Scrapy looks like from inside: a component importing a name it lacks."""
    (tmp_path / "oldscrapy.py").write_text(
        "from scrapy.exceptions import NameOfAFutureScrapy  # noqa: F401\n", "utf-8"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(PROJECT)])}
    proc = newsspider("fetch", ARTICLE, "--replay", str(SAMPLE), "-o", str(tmp_path / "out"),
                      "-s", 'ITEM_PIPELINES={"oldscrapy.Pipeline": 300}', env=env)  # fmt: skip
    one_line_refusal(proc, "could not start", "NameOfAFutureScrapy", "newsspider needs scrapy")
    # the same where Scrapy loads the spiders (before any engine exists)
    proc = newsspider("fetch", ARTICLE, "--replay", str(SAMPLE), "-o", str(tmp_path / "out"),
                      "-s", "SPIDER_MODULES=newsspider.crawl.spiders,oldscrapy",
                      env=env)  # fmt: skip
    one_line_refusal(proc, "could not start", "NameOfAFutureScrapy", "newsspider needs scrapy")
    assert not (tmp_path / "out" / "_posts").exists()


def test_limit_and_closespider_end_normally(tmp_path: Path) -> None:
    limited = newsspider("crawl", "--replay", str(SAMPLE), "-o", str(tmp_path / "a"),
                         "--limit", "2")  # fmt: skip
    assert limited.returncode == 0, limited.stderr
    assert "archived 2," in limited.stderr and len(posts(tmp_path / "a")) == 2
    closed = newsspider("crawl", "--replay", str(SAMPLE), "-o", str(tmp_path / "b"),
                        "-s", "CLOSESPIDER_ITEMCOUNT=1", "-s", "CONCURRENT_REQUESTS=1")  # fmt: skip
    assert closed.returncode == 0, closed.stderr
    assert len(posts(tmp_path / "b")) >= 1


def test_exit_status_precedence() -> None:
    from newsspider.cli import EXIT_FAILED, EXIT_HEALTH, EXIT_OK, exit_status

    assert exit_status() == EXIT_OK
    assert exit_status(failed=True) == EXIT_FAILED
    assert exit_status(health=True, failed=True) == EXIT_HEALTH == exit_status(health=True)


# --- one-line refusals, exit 2 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["fetch", ARTICLE, "-o", "{file}"], ["{file}", "is a file"]),
        (["fetch", ARTICLE, "-o", "/proc/x"], ["/proc/x"]),
        (["crawl", "-o", "{file}"], ["{file}", "is a file"]),
        (["crawl", "--log-level", "LOUD"], ["--log-level", "LOUD"]),
        (["fetch", ARTICLE, "--log-level", "LOUD"], ["--log-level"]),
        (["export", "-o", "{archive}", "--to", "/proc/x"], ["--to", "/proc/x"]),
        (["export", "-o", "{archive}", "--channel", "nosuch"], ["unknown channel", "nosuch"]),
        (["search", "CPI", "-o", "{archive}", "--channel", "nosuch"], ["unknown channel"]),
        (["crawl", "--channel", "nosuch"], ["unknown channel", "nosuch"]),
        (["fetch", ARTICLE, "--channel", "nosuch"], ["unknown channel"]),
        (["crawl", "--since", "2022-05-01", "--until", "2022-01-01"], ["--since", "--until"]),
        (
            ["schedule", "--rounds", "1", "--since", "2022-05-01", "--until", "2022-01-01"],
            ["--since"],
        ),
        (["search", "CPI", "-o", "{archive}", "--since", "yesterday"], ["--since"]),
        (
            ["relink", "--images", "local", "--image-prefix", "not a url", "-o", "{archive}"],
            ["--image-prefix", "not a url"],
        ),
        (["crawl", "-s", "NEWSSPIDER_IMAGE_URL_PREFIX=not a url"], ["NEWSSPIDER_IMAGE_URL_PREFIX"]),
        (["schedule", "--every", "1s", "--round", "1"], ["--round"]),
        (["crawl", "--pag", "1"], ["--pag"]),
        (["schedule"], ["--every", "--rounds"]),
        (["crawl", "-O", "/proc/x/items.json"], ["-O", "/proc/x"]),
        (["crawl", "--summary-json", "/proc/x/s.json"], ["--summary-json"]),
    ],
)
def test_bad_values_are_one_line_and_exit_2(
    tmp_path: Path, archive: Path, argv: list[str], needles: list[str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n", "utf-8")
    values = {"file": str(a_file), "archive": str(archive)}
    words = [w.format(**values) for w in argv]
    if "-o" not in words and words[0] in ("crawl", "schedule", "fetch"):
        words += ["-o", str(tmp_path / "out")]
    if words[0] in ("crawl", "schedule", "fetch"):
        words += ["--replay", str(SAMPLE)]  # never the network, even if a check were missing
    proc = newsspider(*words)
    one_line_refusal(proc, *[n.format(**values) for n in needles])
    assert not (tmp_path / "out" / "_posts").exists()


def test_refusals_create_no_folder(tmp_path: Path) -> None:
    target = tmp_path / "nothing" / "out"
    for extra, needle in (
        (["--channel", "nosuch"], "unknown channel"),
        (["-s", 'ITEM_PIPELINES={"nope.Missing": 300}'], "could not start"),
    ):
        proc = newsspider("fetch", ARTICLE, "-o", str(target), "--replay", str(SAMPLE), *extra)
        one_line_refusal(proc, needle)
        assert not (tmp_path / "nothing").exists()  # fmt: skip
    missing = tmp_path / "nonexistent"
    proc = newsspider("relink", "--images", "local", "-o", str(missing))
    one_line_refusal(proc, str(missing))
    assert not missing.exists()
    proc = newsspider("search", "CPI", "-o", str(missing))
    one_line_refusal(proc, str(missing))
    assert not missing.exists()


# --- schedule -------------------------------------------------------------------------------


def test_schedule_rounds_without_every_runs_back_to_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = newsspider("schedule", "--rounds", "2", "--replay", str(SAMPLE), "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rounds back to back" in proc.stderr
    ended = re.findall(r"round (\d) ended .* exit (\d)", proc.stderr)
    assert ended == [("1", "0"), ("2", "0")], proc.stderr[-3000:]
    assert re.search(r"round 1 ended.*archived 5,", proc.stderr)
    assert re.search(r"round 2 ended.*archived 0,", proc.stderr)  # incremental
    assert len(posts(out)) == 5


# --- relink ---------------------------------------------------------------------------------


def test_relink_remembers_the_image_prefix(tmp_path: Path, archive: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(archive, out)
    before = {p: p.read_bytes() for p in posts(out)}
    assert any(b'src="/images/' in b for b in before.values())  # the sample has local images
    cdn = newsspider("relink", "--images", "local", "--image-prefix", "https://cdn.example/",
                     "-o", str(out))  # fmt: skip
    assert cdn.returncode == 0, cdn.stderr
    texts = [p.read_bytes() for p in posts(out)]
    assert any(b'src="https://cdn.example/images/' in t for t in texts)
    assert not any(b'src="/images/' in t for t in texts)
    remote = newsspider("relink", "--images", "remote", "-o", str(out))  # no prefix repeated
    assert remote.returncode == 0, remote.stderr
    texts = [p.read_bytes() for p in posts(out)]
    assert not any(b"cdn.example" in t for t in texts), "local links left behind"
    assert any(b'src="https://n.sinaimg.cn/' in t for t in texts)
    back = newsspider("relink", "--images", "local", "--image-prefix", "/", "-o", str(out))
    assert back.returncode == 0, back.stderr
    assert {p: p.read_bytes() for p in posts(out)} == before


# --- version, module, package -------------------------------------------------------------


def test_version_from_the_package_metadata() -> None:
    import newsspider as package

    expected = version("newsspider")
    assert package.__version__ == expected
    for words in (NEWSSPIDER, [sys.executable, "-m", "newsspider"]):
        proc = subprocess.run([*words, "--version"], capture_output=True, text=True,
                              cwd=PROJECT, timeout=60, check=False)  # fmt: skip
        assert proc.returncode == 0 and proc.stdout.strip() == f"newsspider {expected}"


def test_python_dash_m_newsspider_runs_a_command(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "newsspider", "channels"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.startswith("china\t")


def test_feed_export_is_utf8_and_switched_off_components_are_quiet(tmp_path: Path) -> None:
    feed = tmp_path / "items.json"
    proc = newsspider("crawl", "--replay", str(SAMPLE), "-o", str(tmp_path / "out"),
                      "-O", str(feed), "--log-level", "INFO")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = feed.read_text("utf-8")
    assert TITLE in text and "\\u" not in text
    assert "Disabled " not in proc.stderr  # recording, WARC, progress, feeder: simply off
    assert "RefererMiddleware instance" not in proc.stderr
    assert not re.search(r"\] WARNING: ", proc.stderr), proc.stderr[-3000:]


def test_user_agent_names_the_release_and_the_users_contact(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    Site(http_server, 1)
    plain = run(command(http_server, "crawl", tmp_path / "a", "--images", "off"))
    assert plain.returncode == 0, plain.stderr[-3000:]
    agents = {r.headers.get("User-Agent") for r in http_server.requests}
    assert agents == {f"newsspider/{version('newsspider')} (Sina Finance news archiver)"}
    http_server.reset_counts()
    contact = run(command(http_server, "crawl", tmp_path / "b", "--images", "off",
                          "-s", "NEWSSPIDER_CONTACT=me@example.org"))  # fmt: skip
    assert contact.returncode == 0, contact.stderr[-3000:]
    agents = {r.headers.get("User-Agent") for r in http_server.requests}
    assert agents == {
        f"newsspider/{version('newsspider')} (Sina Finance news archiver; +mailto:me@example.org)"
    }


# --- search output --------------------------------------------------------------------------


def test_search_is_plain_in_a_pipe_and_bold_reverse_on_a_terminal(archive: Path) -> None:
    piped = newsspider("search", "居民消费价格", "-o", str(archive))
    assert piped.returncode == 0, piped.stderr
    assert "居民消费价格" in piped.stdout
    assert "**" not in piped.stdout and "\x1b" not in piped.stdout
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([*NEWSSPIDER, "search", "居民消费价格", "-o", str(archive)],
                              stdout=follower, stderr=subprocess.PIPE, cwd=PROJECT,
                              env=dict(os.environ, TERM="xterm"), timeout=60,
                              check=False)  # fmt: skip
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    shown = b"".join(chunks).decode("utf-8")
    assert proc.returncode == 0
    assert "\x1b[1;7m居民消费价格\x1b[0m" in shown
    assert "**" not in shown


def test_search_strips_what_would_drive_the_terminal() -> None:
    from newsspider.commands.search import _CLOSE, _OPEN, TTY_MARK, clean, highlight

    hostile = "a\x1b]0;owned\x07b\x1b[2Jc\x1b[31md\x9be\x07f\x00g\x7fh\rI\x1bPj"
    assert clean(hostile) == "abcdefghIj"  # ESC P (a DCS opener) goes with its ESC
    marked = f"x{_OPEN}hit{_CLOSE}\x1b[5my"
    assert highlight(marked, ("", "")) == "xhity"
    assert highlight(marked, TTY_MARK) == "x\x1b[1;7mhit\x1b[0my"


# --- documents the code and README point to ------------------------------------------------

_DOC_REF = re.compile(r"\b((?:docs/)?(?:[A-Z][A-Za-z-]*)\.md)\b")


def _texts() -> dict[str, str]:
    files = [
        PROJECT / "README.md",
        PROJECT / "CHANGELOG.md",
        *sorted((PROJECT / "docs").glob("*.md")),
    ]
    files += sorted((PROJECT / "newsspider").rglob("*.py"))
    return {str(p.relative_to(PROJECT)): p.read_text("utf-8") for p in files if p.exists()}


def test_every_referenced_document_ships_in_the_repository() -> None:
    missing: list[str] = []
    for name, text in _texts().items():
        for ref in set(_DOC_REF.findall(text)):
            target = ref if ref.startswith("docs/") else f"docs/{ref}"
            if ref in ("README.md", "CHANGELOG.md"):
                target = ref
            if not (PROJECT / target).is_file():
                missing.append(f"{name}: {ref} -> {target}")
        assert "shared/format" not in text, f"{name} points outside the repository"
    assert missing == [], missing


def test_readme_and_messages_name_the_documents_by_their_path() -> None:
    import ast

    readme = (PROJECT / "README.md").read_text("utf-8")
    bare = re.findall(r"(?<![/\w])(?:FORMAT|REPLAY)\.md", readme)
    assert bare == [], "README: say docs/FORMAT.md / docs/REPLAY.md"
    for path in sorted((PROJECT / "newsspider").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                found = re.findall(r"(?<![/\w])(?:FORMAT|REPLAY)\.md", node.value)
                assert found == [], f"{path}:{node.lineno}: a message names {found} without docs/"


def test_help_lists_the_exit_statuses() -> None:
    proc = newsspider("crawl", "--help")
    assert proc.returncode == 0
    assert "2 > 3 > 1 > 0" in proc.stdout and "health alarm" in proc.stdout


def test_ctrl_c_ends_a_crawl_normally(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    """SIGINT while articles are in flight: Scrapy finishes them and the status follows from the
    articles requested (all archived: 0), with the stop said in one line."""
    import signal
    import threading

    from faultcrawl import HTML, path_of, start
    from server import RecordedRequest, Route

    site = Site(http_server, 12, per_page=12)
    asked, release = threading.Event(), threading.Event()

    def held(html: bytes) -> object:
        def answer(request: RecordedRequest) -> Route:
            asked.set()
            release.wait(120)
            return Route(body=html, headers={"Content-Type": HTML})

        return answer

    for url, _, html in site.articles:
        http_server.routes[path_of(url)] = held(html)
    log = tmp_path / "crawl.log"
    proc = start(
        command(http_server, "crawl", tmp_path / "out", "--images", "off",
                "-s", "DOWNLOAD_TIMEOUT=180", "-s", "CONCURRENT_REQUESTS=2",
                "--log-level", "ERROR"),
        log,
    )  # fmt: skip
    try:
        assert asked.wait(120), log.read_text("utf-8", "replace")[-3000:]
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)  # let the engine take the stop before the answers arrive
        release.set()
        code = proc.wait(120)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    text = log.read_text("utf-8", "replace")
    assert code == 0, text[-3000:]
    assert "crawl stopped before the end (shutdown)" in text
    summary = [line for line in text.splitlines() if line.startswith("newsspider: archived")]
    archived = int(re.search(r"archived (\d+)", summary[-1]).group(1))  # type: ignore[union-attr]
    assert 1 <= archived < 12 and "failed 0" in summary[-1]  # the rest never requested
    assert len(posts(tmp_path / "out")) == archived
    assert "Traceback" not in text
