"""``newsspider site init SITE``: what it writes, what it refuses, and that it never fetches.

Why: the site is how the archive is read; a wrong pin, a theme that loads from a CDN or a
permalink that breaks on ``%`` would only show after ``npm install`` on a user's machine. These
tests read the files ``site init`` writes; tests/test_site_browser.py builds and browses one.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
import yaml
from conftest import run_newsspider

from newsspider import cli
from newsspider.archive.form import read_form

#: what Hexo 7 needs: the generators the theme uses, a feed, a search index, a server
EXPECTED_PACKAGES = {
    "hexo", "hexo-renderer-marked", "hexo-renderer-ejs", "hexo-generator-index",
    "hexo-generator-archive", "hexo-generator-category", "hexo-generator-feed",
    "hexo-generator-searchdb", "hexo-server",
}  # fmt: skip
_PINNED = re.compile(r"^\d+\.\d+\.\d+$")
#: anything in the theme that would make a browser load from another host
_REMOTE_LOAD = re.compile(
    r"""src\s*=\s*["'](?:https?:)?//|<link\b[^>]*\bhref\s*=\s*["'](?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|@import|fetch\(\s*["']https?:""",
    re.IGNORECASE,
)


def init(site: Path, *extra: str) -> int:
    """``site init`` in this process (it imports no Scrapy and starts no reactor)."""
    return cli.main(["site", "init", str(site), *extra])


def test_site_init_writes_a_ready_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    assert init(site) == 0
    out = capsys.readouterr().out
    assert f"newsspider crawl --output {site / 'source'}" in out
    assert f"cd {site} && npm install && npx hexo server" in out
    theme = "themes/newsspider/"
    for name in ("package.json", "package-lock.json", "_config.yml", ".gitignore",
                 theme + "layout/post.ejs", theme + "source/favicon.png",
                 theme + "source/favicon.ico", theme + "source/js/search.js"):  # fmt: skip
        assert (site / name).is_file(), name
    assert (site / "source").is_dir()
    form = read_form(site / "source")
    assert form is not None
    assert (form.body, form.images, form.image_prefix, form.origin) == (
        "compact",
        "local",
        "/",
        "site init",
    )


def test_packages_are_pinned_exactly_and_locked(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert init(site) == 0
    pkg = json.loads((site / "package.json").read_text("utf-8"))
    deps = pkg["dependencies"]
    assert set(deps) == EXPECTED_PACKAGES
    assert all(_PINNED.match(v) for v in deps.values()), deps
    assert deps["hexo"].startswith("7."), "Hexo 7 (Hexo 8 needs Node >= 20.19)"
    assert "hexo-abbrlink" not in deps, "no plugin that writes into source/"
    assert pkg["hexo"]["version"] == deps["hexo"]
    assert "--max_old_space_size=" in pkg["scripts"]["build"]
    lock = json.loads((site / "package-lock.json").read_text("utf-8"))
    assert lock["packages"][""]["dependencies"] == deps, "the lock file matches package.json"
    for name, version in deps.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_config_says_what_the_issue_asks(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert init(site, "--title", 'My "archive": 财经') == 0
    config = yaml.safe_load((site / "_config.yml").read_text("utf-8"))
    assert config["title"] == 'My "archive": 财经'
    assert config["language"] == "zh-CN"
    assert config["timezone"] == "Asia/Shanghai"
    assert config["permalink"] == ":year/:month/:day/:hash/"
    assert config["per_page"] == config["index_generator"]["per_page"] == 100
    assert config["source_dir"] == "source" and config["theme"] == "newsspider"
    assert config["feed"]["path"] == "atom.xml" and config["search"]["path"] == "search.json"


def test_the_theme_loads_nothing_from_another_host(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert init(site) == 0
    theme = site / "themes" / "newsspider"
    texts = {p: p.read_text("utf-8") for p in theme.rglob("*")
             if p.is_file() and p.suffix in (".ejs", ".css", ".js", ".yml")}  # fmt: skip
    assert len(texts) >= 10
    for path, text in texts.items():
        assert not _REMOTE_LOAD.search(text), f"{path}: {_REMOTE_LOAD.search(text)}"
    # negative controls: the pattern does catch a CDN load, and lets a plain link pass
    assert _REMOTE_LOAD.search('<link rel="stylesheet" href="https://cdn.example/font.css">')
    assert _REMOTE_LOAD.search("src: url(//cdn.example/icons.woff)")
    assert not _REMOTE_LOAD.search('<a href="https://pypi.org/project/newsspider/">')


def test_non_empty_folder_refused_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    (site / "source" / "_posts").mkdir(parents=True)
    keep = site / "source" / "_posts" / "mine.md"
    keep.write_text("mine", "utf-8")
    assert init(site) == 2
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in site.iterdir()) == ["source"], "nothing written"
    assert init(site, "--force") == 0
    assert keep.read_text("utf-8") == "mine"
    assert (site / "package.json").is_file()


def test_force_keeps_an_existing_archives_form_and_says_how_to_convert(tmp_path: Path) -> None:
    site = tmp_path / "site"
    crawl = run_newsspider("crawl", "--replay", "examples/sample-crawl", "--output",
                           str(site / "source"))  # fmt: skip
    assert crawl.returncode == 0, crawl.stderr
    done = run_newsspider("site", "init", str(site), "--force")
    assert done.returncode == 0, done.stderr
    assert f"newsspider relink --compact-body -o {site / 'source'}" in done.stderr
    form = read_form(site / "source")
    assert form is not None and form.body == "original", "an archive's form is never rewritten"


def test_a_file_in_the_way_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "site"
    target.write_text("x", "utf-8")
    assert init(target) == 2
    assert "is a file" in capsys.readouterr().err
    assert init(tmp_path / "t", "--title", "two\nlines") == 2


def test_site_init_never_touches_the_network(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("site init opened a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    assert init(tmp_path / "site") == 0
