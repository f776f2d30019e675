"""Scrapyd runs newsspider: the project deployed as a server gets it, from the egg alone.

A real Scrapyd on 127.0.0.1 (a free port, its own eggs/logs/dbs folders, polling its queue
every 0.1 s instead of every 5 s) gets the egg ``scrapyd-deploy --build-egg`` builds from a copy
of the repository (the tree stays clean: the build writes ``setup.py``, ``build/`` and
``*.egg-info`` where it runs), through ``addversion.json``; ``schedule.json`` then runs ``sina``
over a saved crawl of the repository with ``NEWSSPIDER_*`` settings, and the archive it leaves
must be the one ``newsspider crawl`` makes of the same replay. A job over a simulated redesign
reports the health alarm and the failures as log lines, stats and the summary file (Scrapyd keeps
no exit status), and a job into a folder a crawl holds writes nothing and says why.

Scrapyd runs in a fresh venv that reaches this venv's dependencies through a ``.pth`` line but
not its editable install of the source tree (a ``.pth`` line adds a folder, not the ``.pth``
files in it): ``newsspider`` can only be imported from the deployed egg, as on a server.

Scrapyd that cannot start, an egg that cannot be built or a job that never ends fail the test
with the reason and Scrapyd's log: nothing here skips.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import site
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import run_newsspider
from rollreplay import ReplayBuilder, roll_body, roll_item, synthetic_article

from newsspider.archive.lock import OutputLock

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE = PROJECT / "examples" / "sample-crawl"
STATE = ".newsspider"
#: what one run leaves that is about that run and not about the archive: the lock file (it
#: exists once some process has held the folder; its content is nothing)
RUN_LOCAL = {f"{STATE}/crawl.lock"}
#: run.json's fields that are the run's process and clock (the rest, what the run set out to do
#: and how it ended, is compared)
RUN_CLOCK = ("pid", "started", "finished")
#: journal and index fields holding the wall-clock time of a write (the rest is compared)
WRITE_CLOCK = ("first_archived", "last_archived", "updated")
JOB_TIMEOUT = 90.0


# --- the archive, as compared ---


def _index_rows(path: Path) -> dict[str, list[str]]:
    """Every row of every table, in order, write times masked: the SQLite file's bytes depend on
    page allocation, not only on what it holds. FTS5's shadow tables follow from their table."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not (name.startswith("sqlite_") or "_fts_" in name)
        ]
        rows: dict[str, list[str]] = {}
        for table in sorted(tables):
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            rows[table] = sorted(
                repr([None if c in WRITE_CLOCK else v for c, v in zip(columns, row, strict=True)])
                for row in cursor
            )
        return rows
    finally:
        db.close()


def archive(out: Path) -> dict[str, Any]:
    """Every file under the output folder, byte for byte, except what is about one run:
    :data:`RUN_LOCAL` left out, the clock fields of run.json, the journal and the index masked."""
    files: dict[str, Any] = {}
    for p in sorted(out.rglob("*")):
        name = p.relative_to(out).as_posix()
        if not p.is_file() or name in RUN_LOCAL:
            continue
        if name == f"{STATE}/run.json":
            run = json.loads(p.read_bytes())
            files[name] = {k: v for k, v in run.items() if k not in RUN_CLOCK}
        elif name == f"{STATE}/journal.jsonl":
            files[name] = [
                {k: (None if k in WRITE_CLOCK else v) for k, v in json.loads(line).items()}
                for line in p.read_bytes().splitlines()
            ]
        elif name == f"{STATE}/index.sqlite3":
            files[name] = _index_rows(p)
        elif name.startswith(f"{STATE}/index.sqlite3-"):
            continue  # -wal/-shm of a closed connection: checkpointed into the file above
        else:
            files[name] = p.read_bytes()
    return files


# --- the egg ---


def _run(argv: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=180, check=False)  # fmt: skip
    assert proc.returncode == 0, (
        f"{argv}: exit {proc.returncode}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    )
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a user deploys from: the repository's files (scrapy.cfg, pyproject.toml, the
    package), in a folder of their own."""
    source = tmp_path_factory.mktemp("deploy") / "newsspider"
    source.mkdir()
    for name in ("scrapy.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(PROJECT / name, source / name)
    shutil.copytree(PROJECT / "newsspider", source / "newsspider",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    return source


@pytest.fixture(scope="module")
def egg(project_copy: Path) -> Path:
    """``scrapyd-deploy --build-egg``, the command a user runs (the script beside this
    Python: scrapyd-client from the test extra)."""
    deploy = Path(sys.executable).with_name("scrapyd-deploy")
    assert deploy.exists(), f"{deploy}: scrapyd-deploy is not installed (pip install -e '.[test]')"
    built = project_copy.parent / "newsspider.egg"
    _run([deploy, "--build-egg", built, "--debug"], cwd=project_copy)
    return built


def test_the_egg_names_its_settings_and_carries_the_whole_package(
    egg: Path, project_copy: Path
) -> None:
    with zipfile.ZipFile(egg) as zf:
        names = set(zf.namelist())
        entry_points = configparser.ConfigParser()
        entry_points.read_string(zf.read("EGG-INFO/entry_points.txt").decode())
    # Scrapyd finds a project's settings through this entry point (its runner, addversion.json)
    assert entry_points.has_section("scrapy"), "no [scrapy] entry point: Scrapyd cannot load it"
    assert entry_points.get("scrapy", "settings") == "newsspider.settings"
    package = project_copy / "newsspider"
    wanted = {p.relative_to(project_copy).as_posix() for p in package.rglob("*") if p.is_file()}
    missing = sorted(wanted - names)
    # the channel table, the site template, py.typed: package data a job reads at run time
    assert not missing, f"not in the egg (pyproject.toml [tool.setuptools.package-data]): {missing}"
    assert {n.split("/")[0] for n in names} == {"EGG-INFO", "newsspider"}


# --- Scrapyd ---


@dataclass
class Scrapyd:
    url: str
    home: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def call(
        self,
        endpoint: str,
        fields: list[tuple[str, str]] | None = None,
        *,
        post: bool = False,
        files: dict[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """GET ``endpoint`` (``fields`` in the query), or POST ``fields`` (with ``files``: as
        multipart, addversion.json's egg); the JSON answer, which must say ``ok`` (Scrapyd
        answers its errors with HTTP 200 and ``"status": "error"``)."""
        url, body, headers = f"{self.url}/{endpoint}", None, {}
        if files:
            boundary = uuid.uuid4().hex
            parts = [
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
                + v.encode()
                for k, v in fields or []
            ]
            parts += [
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{k}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n".encode()
                + data
                for k, data in files.items()
            ]
            body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif post:
            body = urllib.parse.urlencode(fields or []).encode()
        elif fields:
            url += "?" + urllib.parse.urlencode(fields)
        request = urllib.request.Request(url, data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.loads(response.read())
        assert answer.get("status") == "ok", f"{endpoint}: {answer}\n{self.tail()}"
        return answer

    def tail(self) -> str:
        return "Scrapyd's log:\n" + self.log.read_text("utf-8", "replace")[-4000:]

    def job_log(self, project: str, spider: str, job: str) -> str:
        return (self.home / "logs" / project / spider / f"{job}.log").read_text("utf-8")

    def wait(self, project: str, job: str) -> None:
        """Until listjobs.json lists ``job`` as finished (Scrapyd keeps no exit status)."""
        deadline = time.monotonic() + JOB_TIMEOUT
        while time.monotonic() < deadline:
            jobs = self.call("listjobs.json", [("project", project)])
            if any(j["id"] == job for j in jobs["finished"]):
                return
            if self.proc.poll() is not None:
                pytest.fail(f"Scrapyd exited ({self.proc.returncode})\n{self.tail()}")
            time.sleep(0.1)
        pytest.fail(f"job {job} not finished after {JOB_TIMEOUT} s: {jobs}\n{self.tail()}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server_venv(where: Path) -> Path:
    """A venv without newsspider that reaches this venv's packages (Scrapyd, Scrapy...)."""
    _run([sys.executable, "-m", "venv", "--without-pip", where], cwd=where.parent)
    python = where / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   cwd=where.parent).strip()  # fmt: skip
    (Path(purelib) / "zz-test-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", "utf-8"
    )
    found = _run([python, "-c", "import importlib.util as u; print(u.find_spec('newsspider'))"],
                 cwd=where.parent).strip()  # fmt: skip
    assert found == "None", f"the server venv imports newsspider without the egg: {found}"
    return python


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    home = tmp_path_factory.mktemp("scrapyd")
    python = _server_venv(home / "venv")
    # Scrapyd reads scrapyd.conf from its working folder (and ~/.scrapyd.conf after it: HOME is
    # this folder, so a user's own file cannot change the test)
    port = _free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\n"
        f"logs_dir = {home / 'logs'}\n"
        f"dbs_dir = {home / 'dbs'}\n"
        "items_dir =\n"
        "jobs_dir =\n"
        "poll_interval = 0.1\n"
        "max_proc = 1\n",
        "utf-8",
    )
    # nothing of this process's Scrapy or Python set-up: SCRAPY_SETTINGS_MODULE would hide a
    # missing entry point, PYTHONPATH could reach the source tree
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SCRAPY_", "NEWSSPIDER_")) and k not in ("PYTHONPATH", "PYTHONHOME")
    }
    env["HOME"] = str(home)
    log = home / "scrapyd.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([python, "-m", "scrapyd"], cwd=home, env=env, stdout=sink,
                                stderr=subprocess.STDOUT)  # fmt: skip
    server = Scrapyd(f"http://127.0.0.1:{port}", home, log, proc)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Scrapyd did not start (exit {proc.returncode})\n{server.tail()}")
            try:
                server.call("daemonstatus.json")
                break
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Scrapyd not answering on port {port} after 30 s\n{server.tail()}")
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def deployed(scrapyd: Scrapyd, egg: Path) -> Scrapyd:
    """The egg uploaded: Scrapyd lists the project's spiders from it, or refuses it."""
    answer = scrapyd.call(
        "addversion.json",
        [("project", "newsspider"), ("version", "1")],
        files={"egg": egg.read_bytes()},
    )
    assert answer["spiders"] >= 1
    spiders = scrapyd.call("listspiders.json", [("project", "newsspider")])["spiders"]
    assert "sina" in spiders
    return scrapyd


def schedule(server: Scrapyd, settings: dict[str, str], **arguments: str) -> tuple[str, str]:
    """schedule.json, then wait for the job: its id and its log."""
    data: list[tuple[str, str]] = [("project", "newsspider"), ("spider", "sina")]
    data += [("setting", f"{k}={v}") for k, v in settings.items()]
    data += list(arguments.items())
    job: str = server.call("schedule.json", data, post=True)["jobid"]
    server.wait("newsspider", job)
    return job, server.job_log("newsspider", "sina", job)


def test_a_scrapyd_job_archives_what_newsspider_crawl_archives(
    deployed: Scrapyd, tmp_path: Path
) -> None:
    out = tmp_path / "scrapyd-out"
    _, log = schedule(
        deployed,
        {"NEWSSPIDER_OUTPUT": str(out), "NEWSSPIDER_REPLAY_DIR": str(SAMPLE)},
        channel="china",
    )
    assert "Spider closed (finished)" in log, log[-4000:]
    assert "Traceback" not in log and "] ERROR:" not in log, log[-4000:]
    # the add-on held the folder for the job, as for newsspider crawl (the file outlives it)
    assert (out / STATE / "crawl.lock").exists()

    reference = tmp_path / "cli-out"
    done = run_newsspider("crawl", "--replay", str(SAMPLE), "--channel", "china",
                          "--output", str(reference))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    expected, got = archive(reference), archive(out)
    assert sum(n.startswith("_posts/") for n in expected) == 5
    assert sum(n.startswith("images/") for n in expected) > 0
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name] == expected[name], name


def _alarm_replay(directory: Path) -> Path:
    """Five articles: three whose body container was renamed (a redesign: the generic
    extractor reads them, the health alarm rings) and two video-only pages (failures)."""
    b = ReplayBuilder(directory)
    items = []
    for n in range(5):
        url, _, title, html = synthetic_article(n, when=1672545600 - n * 60)
        if n < 3:
            html = html.replace(b'id="artibody"', b'id="article-content-2027"')
        else:
            start_at = html.index(b'<div class="article" id="artibody"')
            end_at = html.index("<!-- 原始正文end -->".encode())
            html = (html[:start_at] + b'<div class="article" id="artibody">\n<div class='
                    b'"video-2017" id="videoList0"></div>\n</div>\n' + html[end_at:])  # fmt: skip
        b.add(url, html)
        items.append(roll_item(url, title, 1672545600 - n * 60))
    b.add_roll("china", 1, roll_body(items))
    return b.write()


def test_a_scrapyd_job_reports_the_health_alarm_and_the_failures(
    deployed: Scrapyd, tmp_path: Path
) -> None:
    """Scrapyd keeps no exit status (docs/exit-status.md): the alarm and the failures are log
    lines, stats and the summary file, which says what newsspider crawl's says."""
    replay = _alarm_replay(tmp_path / "replay")
    out = tmp_path / "out"
    summary = tmp_path / "summary.json"
    _, log = schedule(
        deployed,
        {
            "NEWSSPIDER_OUTPUT": str(out),
            "NEWSSPIDER_REPLAY_DIR": str(replay),
            "NEWSSPIDER_IMAGES": "off",
            "NEWSSPIDER_SUMMARY_JSON": str(summary),
        },
        channel="china",
    )
    assert "Spider closed (finished)" in log, log[-4000:]
    assert "WARNING: health: channel china: 3 of 5 articles needed the generic extractor" in log
    failed = [line for line in log.splitlines() if "WARNING: failed " in line]
    assert len(failed) == 2 and all("video-only page" in line for line in failed), failed
    assert "'articles/failed': 2," in log
    assert "'newsspider/health_alarm': 1," in log  # the stats dump at the end
    assert len(list((out / "_posts").rglob("*.md"))) == 3
    got = json.loads(summary.read_text("utf-8"))
    assert len(got["health"]) == 1 and "channel china" in got["health"][0], got["health"]
    assert "body container" in got["health"][0]
    assert [f["reason"].startswith("video-only page") for f in got["failures"]] == [True, True]
    assert got["counts"]["failed"] == 2 and got["counts"]["requested"] == 5

    # newsspider crawl over the same replay: exit 3 (the alarm), and the same verdict
    cli_summary = tmp_path / "cli.json"
    cli = run_newsspider("crawl", "--replay", str(replay), "--images", "off", "-o",
                         str(tmp_path / "cli"), "--summary-json", str(cli_summary))  # fmt: skip
    assert cli.returncode == 3, cli.stderr[-3000:]
    expected = json.loads(cli_summary.read_text("utf-8"))
    for key in ("health", "failures", "counts", "channels", "finish_reason"):
        assert got[key] == expected[key], key


def test_a_scrapyd_job_into_a_folder_a_crawl_holds_writes_nothing(
    deployed: Scrapyd, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with OutputLock(out, "newsspider schedule"):
        _, log = schedule(
            deployed,
            {"NEWSSPIDER_OUTPUT": str(out), "NEWSSPIDER_REPLAY_DIR": str(SAMPLE)},
            channel="china",
        )
    assert not (out / "_posts").exists() and not (out / "images").exists()
    assert not (out / STATE / "index.sqlite3").exists()
    assert "Traceback" not in log, log[-4000:]
    lines = [line for line in log.splitlines() if "in use" in line]
    assert len(lines) == 1 and "newsspider schedule" in lines[0], log[-4000:]
