"""Render newsspider output with a real Hexo install, for tests.

Why this exists: newsspider's whole job is to write posts that a Hexo blog
renders.  Byte-comparing against golden files proves the bytes are right, but
only Hexo itself can prove that the front matter parses, that the body survives
Hexo's Nunjucks tag pass (``{{``/``{%`` in article text are fatal there), and
that the three-level category pages come out.  So the tests install Hexo from
the npm registry once, into a cache folder reused by every later run, and run
``hexo generate`` on a throw-away site built from an output folder.

Nothing here skips: a machine without ``node``/``npm`` gets a RuntimeError
that says what is missing, because a silently skipped render test is worse than
none.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

try:  # POSIX only; the lock merely serialises concurrent first installs.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: npm packages installed into the cache.  Majors are pinned so a new major on
#: the registry cannot change what the tests exercise; every one of these
#: majors supports Node 18/20 (hexo 8 needs Node >= 20.19, hence hexo@7).
HEXO_PACKAGES: tuple[str, ...] = (
    "hexo@7",
    "hexo-renderer-marked@7",
    "hexo-renderer-ejs@2",
    "hexo-renderer-stylus@3",
    "hexo-generator-category@2",
    "hexo-generator-index@4",
    "hexo-generator-archive@2",
    "hexo-generator-tag@2",
    "hexo-theme-landscape@1",
)

#: hexo-renderer-marked 7 and hexo-generator-index 4 declare ``node >= 18``.
MIN_NODE_MAJOR = 18

#: Env var that overrides the cache folder (CI points it at a cached path).
CACHE_ENV = "NEWSSPIDER_HEXO_DIR"

#: Written last by a successful install; its content is the package list, so
#: changing HEXO_PACKAGES forces a reinstall instead of reusing stale modules.
MARKER_NAME = ".newsspider-hexo-installed"

INSTALL_TIMEOUT_S = 900.0
GENERATE_TIMEOUT_S = 180.0

#: Site config.  Only what matters for the checks is set; Hexo fills in the
#: rest from its defaults.  ``timezone: UTC`` keeps the :year/:month/:day part
#: of post URLs independent of the machine's local zone.
SITE_CONFIG = """\
title: newsspider render test
language: zh-CN
timezone: UTC
url: http://example.com
root: /
permalink: :year/:month/:day/:title/
source_dir: source
public_dir: public
category_dir: categories
tag_dir: tags
archive_dir: archives
post_asset_folder: false
render_drafts: false
theme: landscape
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

#: Substrings that mean Hexo (or Nunjucks inside it) hit a problem.  Hexo does
#: not always exit non-zero (bluebird "Unhandled rejection" exits 0), so the
#: output has to be scanned as well as the exit code.
_BAD_SUBSTRINGS: tuple[str, ...] = (
    "ERROR",
    "Error",
    "FATAL",
    "Nunjucks",
    "Template render error",
    "unexpected token",
    "Unhandled rejection",
)
#: Any Hexo warning (``WARN  ...``) fails too: the only ones a post can trigger
#: (unparsable dates, missing layouts, ...) mean the post will not render right.
_WARN_LINE = re.compile(r"^\s*WARN\b")
#: "INFO  Generated: <path>" lines echo post paths, which may legitimately
#: contain words such as "Error"; they are never a problem report.
_GENERATED_LINE = re.compile(r"^\s*INFO\s+Generated:\s")


@dataclass(frozen=True)
class HexoResult:
    """Outcome of one ``hexo generate`` run.

    ``public`` is where the site was written; it may be missing or partial
    when the run failed, so check with :func:`assert_clean` first.
    """

    returncode: int
    stdout: str
    stderr: str
    public: Path
    elapsed_s: float = 0.0


# --------------------------------------------------------------------------
# installation
# --------------------------------------------------------------------------


def hexo_cache_dir() -> Path:
    """Return the folder that holds (or will hold) the cached Hexo install.

    Kept outside the repo so that it survives ``git clean`` and tmp dirs, and
    overridable so CI can put it on a cached volume.
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return (Path.home() / ".cache" / "newsspider-hexo").resolve()


def _require_tool(name: str) -> str:
    """Return the absolute path of ``name`` or raise: never let tests skip."""
    found = shutil.which(name)
    if not found:
        raise RuntimeError(
            f"`{name}` was not found on PATH. The Hexo rendering tests need Node.js "
            f"(>= {MIN_NODE_MAJOR}) and npm; install them (e.g. `apt-get install nodejs "
            f"npm`) and run .ci/install-hexo.sh. These tests deliberately do not skip."
        )
    return found


def _check_node(node: str) -> None:
    """Fail early with a readable message when Node is too old for Hexo 7."""
    proc = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    version = proc.stdout.strip()
    m = re.match(r"v?(\d+)\.", version)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"`{node} --version` failed: {proc.stdout}{proc.stderr}")
    if int(m.group(1)) < MIN_NODE_MAJOR:
        raise RuntimeError(
            f"Node {version} is too old: the pinned Hexo packages need Node >= {MIN_NODE_MAJOR}."
        )


def _marker_text() -> str:
    return "\n".join(HEXO_PACKAGES) + "\n"


def _is_installed(cache: Path) -> bool:
    marker = cache / MARKER_NAME
    try:
        ok_marker = marker.read_text(encoding="utf-8") == _marker_text()
    except OSError:
        return False
    return ok_marker and (cache / "node_modules" / "hexo" / "package.json").is_file()


@contextlib.contextmanager
def _install_lock(cache: Path) -> Iterator[None]:
    """Serialise installs so parallel test workers do not run npm twice."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    with (cache / ".install.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_hexo() -> Path:
    """Install Hexo into the cache folder once and return that folder.

    The returned folder contains ``node_modules`` and a ``package.json`` whose
    ``dependencies`` name the Hexo plugins (Hexo loads plugins from there).
    A marker file written after a successful install makes later calls a
    cheap stat.  A stale or half-finished install (marker missing or for a
    different package list) is wiped (only package.json, package-lock.json
    and node_modules) and redone.
    """
    node = _require_tool("node")
    npm = _require_tool("npm")
    cache = hexo_cache_dir()
    if _is_installed(cache):
        return cache
    _check_node(node)
    cache.mkdir(parents=True, exist_ok=True)
    with _install_lock(cache):
        if _is_installed(cache):  # another worker finished while we waited
            return cache
        (cache / MARKER_NAME).unlink(missing_ok=True)
        shutil.rmtree(cache / "node_modules", ignore_errors=True)
        (cache / "package-lock.json").unlink(missing_ok=True)
        # Equivalent of `npm init -y`, written directly because `npm init -y`
        # derives the package name from the folder name and rejects folder
        # names npm considers invalid (capitals, spaces) in NEWSSPIDER_HEXO_DIR.
        (cache / "package.json").write_text(
            json.dumps(
                {
                    "name": "newsspider-hexo-cache",
                    "version": "1.0.0",
                    "private": True,
                    "description": "Hexo install used by newsspider's rendering tests",
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        cmd = [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            # Hexo and its plugins are plain JS; the only install script
            # (hexo-util's highlight alias build) regenerates a file that the
            # tarball already ships.  Skipping scripts keeps installs
            # deterministic and avoids running registry code at install time.
            "--ignore-scripts",
            *HEXO_PACKAGES,
        ]
        print(f"[newsspider-hexo] installing into {cache}: {' '.join(cmd)}", file=sys.stderr)
        start = time.monotonic()
        try:
            proc = subprocess.run(
                cmd,
                cwd=cache,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(
                f"npm install of Hexo timed out after {INSTALL_TIMEOUT_S:.0f}s in {cache}"
            ) from exc
        sys.stderr.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        if proc.returncode != 0:
            raise RuntimeError(
                f"npm install of Hexo failed (exit {proc.returncode}) in {cache}:\n"
                f"{proc.stdout}\n{proc.stderr}"
            )
        if not (cache / "node_modules" / "hexo" / "package.json").is_file():
            raise RuntimeError(f"npm install finished but {cache}/node_modules/hexo is missing")
        (cache / MARKER_NAME).write_text(_marker_text(), encoding="utf-8")
        print(
            f"[newsspider-hexo] installed Hexo {_hexo_version(cache)} "
            f"in {time.monotonic() - start:.1f}s",
            file=sys.stderr,
        )
    return cache


def _hexo_version(cache: Path) -> str:
    pkg = json.loads((cache / "node_modules" / "hexo" / "package.json").read_text("utf-8"))
    return str(pkg["version"])


# --------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------


def _write_site_package_json(cache: Path, workdir: Path) -> None:
    """Write the site's package.json.

    hexo-cli only treats a folder as a site when package.json has a ``hexo``
    key (otherwise ``hexo generate`` just prints usage and exits 0), and Hexo
    loads exactly the plugins listed under ``dependencies``.
    """
    cache_pkg = json.loads((cache / "package.json").read_text("utf-8"))
    site_pkg = {
        "name": "newsspider-hexo-site",
        "version": "0.0.0",
        "private": True,
        "hexo": {"version": _hexo_version(cache)},
        "dependencies": cache_pkg.get("dependencies", {}),
    }
    (workdir / "package.json").write_text(json.dumps(site_pkg, indent=2) + "\n", "utf-8")


def _link_node_modules(cache: Path, workdir: Path) -> None:
    """Symlink the cached node_modules (copy where symlinks are unavailable)."""
    target = workdir / "node_modules"
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    try:
        target.symlink_to(cache / "node_modules", target_is_directory=True)
    except OSError:  # pragma: no cover - e.g. Windows without symlink rights
        shutil.copytree(cache / "node_modules", target, symlinks=True)


def generate_site(source_dir: Path, workdir: Path) -> HexoResult:
    """Build a Hexo site in ``workdir`` from a newsspider output folder and generate it.

    ``source_dir`` is laid out like newsspider's output (``_posts/<c1>/<c2>/
    <c3>/*.md`` plus ``images/...``) and becomes the site's ``source``
    folder verbatim, so the post files reach Hexo byte-for-byte.  Any previous
    ``source``, ``public`` and ``db.json`` in ``workdir`` are removed first so
    that reusing a workdir never renders stale posts.
    """
    cache = ensure_hexo()
    node = _require_tool("node")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "_config.yml").write_text(SITE_CONFIG, encoding="utf-8")
    _write_site_package_json(cache, workdir)
    _link_node_modules(cache, workdir)

    source = workdir / "source"
    public = workdir / "public"
    shutil.rmtree(source, ignore_errors=True)
    shutil.rmtree(public, ignore_errors=True)
    (workdir / "db.json").unlink(missing_ok=True)
    shutil.copytree(source_dir, source)

    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)  # picocolors colours on *any* FORCE_COLOR value
    env["NO_COLOR"] = "1"
    cmd = [node, str(workdir / "node_modules" / "hexo" / "bin" / "hexo"), "generate"]
    start = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=GENERATE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(
            f"`hexo generate` timed out after {GENERATE_TIMEOUT_S:.0f}s in {workdir}\n"
            f"stdout:\n{exc.stdout!r}\nstderr:\n{exc.stderr!r}"
        ) from exc
    return HexoResult(
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        public=public,
        elapsed_s=time.monotonic() - start,
    )


def problem_lines(result: HexoResult, allow: Iterable[str] = ()) -> list[str]:
    """Return the output lines that report an error or warning.

    ``allow`` holds regexes for lines to ignore, for a future warning that is
    known to be harmless; keep it empty unless there is a reason written down.
    """
    allowed = [re.compile(p) for p in allow]
    found: list[str] = []
    for stream in (result.stdout, result.stderr):
        for raw in stream.splitlines():
            line = _ANSI.sub("", raw)
            if _GENERATED_LINE.match(line) or any(a.search(line) for a in allowed):
                continue
            if _WARN_LINE.match(line) or any(s in line for s in _BAD_SUBSTRINGS):
                found.append(line)
    return found


def assert_clean(result: HexoResult, allow: Iterable[str] = ()) -> None:
    """Fail (AssertionError) unless Hexo exited 0 and reported no errors/warnings."""
    problems = problem_lines(result, allow)
    if result.returncode == 0 and not problems:
        return
    tail = "\n".join((result.stdout + "\n" + result.stderr).splitlines()[-60:])
    raise AssertionError(
        f"hexo generate was not clean (exit {result.returncode}); problem lines:\n  "
        + "\n  ".join(problems or ["<none, but non-zero exit>"])
        + f"\n--- last output lines ---\n{tail}"
    )


# --------------------------------------------------------------------------
# inspecting the generated site
# --------------------------------------------------------------------------

_DATE_DIR = re.compile(r"^\d{4}$")


def post_pages(public: Path) -> list[Path]:
    """Return every generated post page (``index.html``), sorted.

    With ``permalink: :year/:month/:day/:title/`` posts, and only posts, live
    under ``public/YYYY/MM/DD/``; archives, categories and tags have their own
    top-level folders.  ``:title`` keeps the ``_posts`` sub-folders, so the page
    is nested ``<c1>/<c2>/<c3>/<file stem>/`` below the date.
    """
    pages: list[Path] = []
    for year in public.iterdir() if public.is_dir() else ():
        if year.is_dir() and _DATE_DIR.match(year.name):
            pages.extend(year.glob("[0-9][0-9]/[0-9][0-9]/**/index.html"))
    return sorted(pages)


def page_title(page: Path) -> str:
    """Return the unescaped ``<title>`` text of a generated page."""
    text = page.read_text(encoding="utf-8")
    m = re.search(r"<title>(.*?)</title>", text, re.S)
    return html.unescape(m.group(1)).strip() if m else ""


def find_post_page(public: Path, title: str) -> Path:
    """Locate the post page whose ``<title>`` is ``title`` (theme appends " | site").

    Matching on the rendered title rather than on the URL proves that Hexo read
    the title from the front matter (a failed front-matter parse would fall
    back to the file name, which differs from the title for e.g. "1.4%").
    """
    matches = []
    for page in post_pages(public):
        shown = page_title(page)
        if shown == title or shown.startswith(f"{title} | "):
            matches.append(page)
    if len(matches) != 1:
        listing = "\n  ".join(f"{page_title(p)!r}: {p}" for p in post_pages(public))
        raise AssertionError(
            f"expected exactly one post page titled {title!r}, found {len(matches)}; "
            f"post pages:\n  {listing}"
        )
    return matches[0]


@lru_cache(maxsize=256)
def hexo_slugize(name: str) -> str:
    """Slug Hexo gives a category name, computed by Hexo's own hexo-util.

    Asking Node instead of re-implementing keeps this exact: hexo-util's
    slugize also folds diacritics and full-width Latin letters (Ａ -> A),
    which a hand-written copy would easily get wrong.  CJK characters, the
    full-width hyphen ``－`` (U+FF0D) and ``內`` are kept as they are.
    """
    cache = ensure_hexo()
    node = _require_tool("node")
    script = (
        "const path = require('path');"
        "const hexoDir = path.dirname(require.resolve('hexo/package.json'));"
        "const {slugize} = require(require.resolve('hexo-util', {paths: [hexoDir]}));"
        "process.stdout.write(JSON.stringify(slugize(process.argv[1])));"
    )
    proc = subprocess.run(
        [node, "-e", script, name],
        cwd=cache,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"hexo-util slugize failed for {name!r}: {proc.stderr}")
    return str(json.loads(proc.stdout))


def category_pages(public: Path) -> list[Path]:
    """Return every generated category page, for error messages and scans."""
    return sorted((public / "categories").glob("**/index.html"))


def category_page(public: Path, c1: str, c2: str | None = None, c3: str | None = None) -> Path:
    """Return the path of the page for category ``c1[/c2[/c3]]`` (may not exist).

    Hexo nests sub-categories and slugs each level separately, so the page is
    ``categories/<slug(c1)>/<slug(c2)>/<slug(c3)>/index.html``; with the default
    ``filename_case: 0`` and no ``category_map`` the Chinese names stay as
    they are.
    """
    names = [n for n in (c1, c2, c3) if n is not None]
    path = public / "categories"
    for name in names:
        path = path / hexo_slugize(name)
    return path / "index.html"


# --------------------------------------------------------------------------
# sites made by `newsspider site init`
# --------------------------------------------------------------------------

#: Written last by a successful install of a site's modules; holds the lock file's digest.
SITE_MARKER_NAME = ".newsspider-site-installed"
#: npm's `build` script as `site init` writes it is what users run; generation of big sites
#: (benchmarks/site.py) can take many minutes, so callers pass their own timeout.
SITE_GENERATE_TIMEOUT_S = 600.0


def _site_key(site: Path) -> str:
    """Digest of the site's package.json and package-lock.json: what npm would install."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((site / name).read_bytes())
    return digest.hexdigest()[:16]


def ensure_site_modules(site: Path) -> Path:
    """Give ``site`` (made by ``newsspider site init``) its ``node_modules`` from the cache.

    The first call for a given package.json + package-lock.json runs ``npm ci`` (exactly the
    lock file's versions) in ``<cache>/site-<digest>/``; every later call, in this run or the
    next, only symlinks that folder's ``node_modules`` into the site. So the tests install what
    ``site init`` writes, not a list of their own, and hit the registry once.
    Returns the cache folder. Never skips: no node/npm is a RuntimeError.
    """
    node = _require_tool("node")
    npm = _require_tool("npm")
    site = Path(site).resolve()
    key = _site_key(site)
    cache = hexo_cache_dir() / f"site-{key}"
    marker = cache / SITE_MARKER_NAME
    cache.mkdir(parents=True, exist_ok=True)
    if not (marker.is_file() and (cache / "node_modules" / "hexo" / "package.json").is_file()):
        _check_node(node)
        with _install_lock(cache):
            if not marker.is_file():
                shutil.rmtree(cache / "node_modules", ignore_errors=True)
                for name in ("package.json", "package-lock.json"):
                    shutil.copyfile(site / name, cache / name)
                cmd = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
                print(f"[newsspider-hexo] installing the site's modules into {cache}: "
                      f"{' '.join(cmd)}", file=sys.stderr)  # fmt: skip
                start = time.monotonic()
                try:
                    proc = subprocess.run(cmd, cwd=cache, capture_output=True, text=True,
                                          timeout=INSTALL_TIMEOUT_S, check=False)  # fmt: skip
                except subprocess.TimeoutExpired as exc:
                    raise RuntimeError(f"npm ci timed out after {INSTALL_TIMEOUT_S:.0f}s in "
                                       f"{cache}") from exc  # fmt: skip
                if proc.returncode != 0:
                    raise RuntimeError(f"npm ci failed (exit {proc.returncode}) in {cache}:\n"
                                       f"{proc.stdout}\n{proc.stderr}")  # fmt: skip
                marker.write_text(key + "\n", encoding="utf-8")
                print(f"[newsspider-hexo] site modules installed in "
                      f"{time.monotonic() - start:.1f}s", file=sys.stderr)  # fmt: skip
    _link_node_modules(cache, site)
    return cache


def build_site(site: Path, timeout: float = SITE_GENERATE_TIMEOUT_S) -> HexoResult:
    """Run the site's own ``npm run build`` (the Node heap and ``hexo generate`` that
    ``site init`` wrote) after :func:`ensure_site_modules`; ``public`` is ``site/public``."""
    npm = _require_tool("npm")
    site = Path(site).resolve()
    ensure_site_modules(site)
    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    env["NO_COLOR"] = "1"
    start = time.monotonic()
    try:
        proc = subprocess.run([npm, "run", "build"], cwd=site, env=env, capture_output=True,
                              text=True, encoding="utf-8", errors="replace", timeout=timeout,
                              check=False)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"`npm run build` timed out after {timeout:.0f}s in {site}") from exc
    return HexoResult(
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        public=site / "public",
        elapsed_s=time.monotonic() - start,
    )
