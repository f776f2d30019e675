"""``newsspider site init SITE``: a ready Hexo site around an archive.

Why: the archive exists to be read, and a stock ``hexo init`` site shows it badly (Sina's QR
block as a code block under the original body form, 404 links for titles with ``%``, a theme
that loads fonts from a CDN, no feed, no search). The site this writes has, pinned exactly:
Hexo 7 and the plugins the original blog used or better ones (none writing into ``source/``), a
``:year/:month/:day/:hash/`` permalink that works for every title, newsspider's own small theme
that loads nothing from another host, a feed, a search page, a favicon, and ``npm run build``
with the Node heap a 20,000-post archive needs. ``SITE/source/`` is the archive's output folder,
recorded as compact body + local images (:mod:`newsspider.archive.form`), the form that renders
cleanly in Hexo.

It copies files only: no network, no npm (the next commands it prints do that).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

DEFAULT_TITLE = "新浪财经新闻存档"
#: the template's placeholder for the site title (a YAML scalar once replaced)
_TITLE_MARK = "__TITLE__"
#: template names that packaging would drop or that must not be dot-files in the package
_RENAMED = {"gitignore": ".gitignore"}


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("site", cmd_site, "make a Hexo site that publishes an archive")
    sub = p.add_subparsers(dest="site_command", required=True, metavar="SUBCOMMAND")
    init = sub.add_parser(
        "init",
        help="write a ready Hexo site into SITE (its source/ folder is the archive)",
        description="Write a Hexo 7 site into SITE: package.json (versions pinned), _config.yml, "
        "newsspider's theme (nothing loaded from another host), SITE/source/ as the archive's "
        "output folder (compact body, local images). Fetches nothing: `npm install` does.",
    )
    init.add_argument("site", metavar="SITE", help="folder to create (must be empty or absent)")
    init.add_argument(
        "--title", default=DEFAULT_TITLE, help=f"site title (default {DEFAULT_TITLE})"
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty SITE: the site's own files are replaced, everything else "
        "(source/ included) is kept",
    )


def _template() -> Traversable:
    return files("newsspider") / "site" / "template"


def _walk(folder: Traversable, rel: str = "") -> Iterator[tuple[str, Traversable]]:
    """(relative path, file) of every template file, in a stable order."""
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        path = f"{rel}{entry.name}"
        if entry.is_dir():
            yield from _walk(entry, path + "/")
        else:
            yield path, entry


def _check_title(title: str) -> str:
    from newsspider.errors import UsageError

    value = title.strip()
    if not value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise UsageError("--title: one line of text, not empty")
    return value


def _check_site(site: Path, force: bool) -> None:
    """Refuse a file, or a non-empty folder without --force (exit 2), before writing anything."""
    from newsspider.errors import UsageError

    if site.exists() and not site.is_dir():
        raise UsageError(f"site init {site}: is a file, not a folder")
    if site.is_dir() and not force:
        held = sorted(p.name for p in site.iterdir())
        if held:
            shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
            raise UsageError(
                f"site init {site}: the folder is not empty ({shown}); pass --force to write "
                "the site's files into it (files of the same names are replaced, source/ and "
                "everything else kept), or name a new folder"
            )


def write_site(site: Path, title: str) -> list[str]:
    """Copy the template into ``site`` (title filled in); returns the paths written."""
    written: list[str] = []
    for rel, entry in _walk(_template()):
        parts = rel.split("/")
        parts[-1] = _RENAMED.get(parts[-1], parts[-1])
        target = site.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = entry.read_bytes()
        if rel == "_config.yml":
            # a JSON string is a YAML double-quoted scalar: any title, quotes and colons included
            scalar = json.dumps(title, ensure_ascii=False)
            data = data.decode("utf-8").replace(_TITLE_MARK, scalar, 1).encode("utf-8")
        target.write_bytes(data)
        written.append("/".join(parts))
    return written


def _record_form(source: Path) -> str:
    """Record compact body + local images for a new archive; for one that already holds posts,
    keep its form and return the advice that makes it render cleanly ("" when none needed)."""
    from newsspider.archive.form import read_form, record_form, resolve_form

    resolved = resolve_form(source)
    if not resolved.recorded and read_form(source) is None:
        record_form(source, origin="site init", body="compact", images="local", image_prefix="/")
        return ""
    form = resolved.form
    steps = []
    if form.body != "compact":
        steps.append(f"newsspider relink --compact-body -o {shlex.quote(str(source))}")
    if form.images != "local":
        steps.append(f"newsspider relink --images local -o {shlex.quote(str(source))}")
    if not steps:
        return ""
    return (
        f"{source} already holds an archive in the {form.body} body form with {form.images} "
        "images, kept as it is; for pages without Sina's markup shown as code and with local "
        "images, convert it: " + " && ".join(steps)
    )


def cmd_site(args: argparse.Namespace) -> int:
    from newsspider.errors import EXIT_OK, UsageError

    site = Path(args.site)
    title = _check_title(args.title)
    _check_site(site, args.force)
    try:
        site.mkdir(parents=True, exist_ok=True)
        written = write_site(site, title)
        source = site / "source"
        source.mkdir(exist_ok=True)
        advice = _record_form(source)
    except OSError as exc:
        raise UsageError(f"site init {site}: {exc.strerror or exc}") from None
    q = shlex.quote(str(site))
    src = shlex.quote(str(site / "source"))
    print(f"newsspider: wrote a Hexo site in {site} ({len(written)} files); next:")
    print(f"  newsspider crawl --output {src} --channel china   # or --replay DIR, fetch URL...")
    print(
        f"  cd {q} && npm install && npx hexo server             # preview at http://localhost:4000"
    )
    print("  npm run build                                        # the site in public/")
    if advice:
        print(f"newsspider: note: {advice}", file=sys.stderr)
    return EXIT_OK
