"""What the hostile-input suite shares: the ledger of inputs, the crawl runner with its escape and
partial-file checks, page builders, and the checker every written post must pass.

Why a ledger: the issue asks for figures (inputs tried, crawls finished, items skipped and why,
escapes, partial files) over the whole suite, printed whatever ``-s`` says; each test records
into :data:`LEDGER` and ``conftest.pytest_terminal_summary`` prints it.

Why crawls in batches: a crawl is a subprocess (~1.5 s), so every crawl carries many hostile
inputs at once beside one good article, which must still be archived normally.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import lxml.html
from rollreplay import synthetic_article, unix

TESTS = Path(__file__).resolve().parent.parent
PROJECT = TESTS.parent
HTML = "text/html; charset=utf-8"
BASE_TIME = unix("2023-01-01 12:00:00")
#: a file some inputs try to reach with ``../``; it must never appear
ESCAPE_NAME = "newsspider-hostile-escape"
#: elements that must not survive into a post (FORMAT.md BODY)
FORBIDDEN_TAGS = frozenset(
    {"script", "iframe", "object", "embed", "frame", "frameset", "applet", "base"}
)
FORBIDDEN_ATTRS = frozenset({"srcdoc", "formaction"})
URL_ATTRS = frozenset(
    {"href", "src", "action", "poster", "background", "xlink:href", "data", "formaction",
     "{http://www.w3.org/1999/xlink}href"}
)  # fmt: skip
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
_SCHEME_NOISE = re.compile(r"[\x00-\x20\x7f\s]+")
_TEMPLATE = re.compile(
    r"\n---\ntitle: (?P<title>[^\n]*)\ncategories: \n - (?P<c1>[^\n]*)\n - (?P<c2>[^\n]*)\n"
    r" - (?P<c3>[^\n]*)\nheadimg: '(?P<head>[^\n]*)'\nauthor: (?P<author>[^\n]*)\n"
    r"comments: false\ndate: (?P<date>[^\n]*)\nthumbnail: '(?P<thumb>[^\n]*)'\n---\n\n"
    r"<div>   \n(?P<body>.*)  \n</div>\n {12}",
    re.DOTALL,
)
_RFC1123 = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")
_NAME_FORBIDDEN = re.compile(r"[:/\\?*“”<>|\[\]#\x00-\x1f\x7f]")
_WINDOWS_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$")
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})


# --- the ledger ---------------------------------------------------------------------------------


@dataclass
class Ledger:
    """Every hostile input, every crawl, every escape and partial file, for the summary table."""

    #: (group, input, outcome) with outcome ``archived``/``sanitised`` or ``skipped: reason``
    inputs: list[tuple[str, str, str]] = field(default_factory=list)
    crawls: list[tuple[str, int, bool]] = field(default_factory=list)  # (name, exit, finished)
    escapes: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    #: every output folder written, for the one Hexo site of the whole suite
    outputs: list[Path] = field(default_factory=list)

    def add(self, group: str, name: str, outcome: str) -> None:
        self.inputs.append((group, name, outcome))

    def table(self) -> list[str]:
        skipped = Counter(o.split(": ", 1)[1] for _, _, o in self.inputs if o.startswith("skip"))
        groups = Counter(g for g, _, _ in self.inputs)
        lines = [
            f"{'inputs tried':<44}{len(self.inputs):>6}",
            *(f"  {g:<42}{n:>6}" for g, n in sorted(groups.items())),
            f"{'crawls finished (of run)':<44}"
            f"{sum(f for _, _, f in self.crawls):>6} / {len(self.crawls)}",
            f"{'inputs archived (sanitised where needed)':<44}"
            f"{sum(not o.startswith('skip') for _, _, o in self.inputs):>6}",
            f"{'inputs skipped, by reason':<44}{sum(skipped.values()):>6}",
            *(f"  {r[:60]:<60}{n:>4}" for r, n in skipped.most_common()),
            f"{'escapes (files outside the output folder)':<44}{len(self.escapes):>6}",
            f"{'partial or temporary files left':<44}{len(self.partial):>6}",
        ]
        return lines


LEDGER = Ledger()


# --- pages --------------------------------------------------------------------------------------


def article(n: int, *, title: str | None = None, body_html: str | None = None,
            where: str = "start") -> tuple[str, str, str, bytes]:  # fmt: skip
    """The seed page as article ``n`` (``url, doc id, title, html bytes``), with ``title`` put in
    place of its headline (HTML-escaped, as a page holds it) and ``body_html`` inserted into its
    body container at ``start``, ``middle`` (after the first paragraph) or ``end``."""
    url, docid, good_title, page = synthetic_article(n, when=BASE_TIME - n * 60)
    text = page.decode("utf-8")
    if title is not None:
        good = good_title
        text = text.replace(good, html.escape(title, quote=True))
    if body_html is not None:
        text = insert_body(text, body_html, where)
    return url, docid, good_title if title is None else title, text.encode("utf-8")


def insert_body(page: str, fragment: str, where: str = "start") -> str:
    start = page.index('id="artibody"')
    start = page.index(">", start) + 1
    if where == "start":
        pos = start
    elif where == "middle":
        pos = page.index("</p>", start) + 4
    else:  # after the last paragraph of text, before Sina's QR block and the editor line
        pos = page.index("<!-- news_keyword_pub", start)
    return page[:pos] + fragment + page[pos:]


# --- running crawls -----------------------------------------------------------------------------


def tree(root: Path) -> set[str]:
    """Every path under ``root`` (files, folders, links), relative."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@dataclass
class Crawl:
    name: str
    returncode: int
    stderr: str
    out: Path
    summary: dict
    stats: dict[str, int]

    @property
    def failures(self) -> dict[str, str]:
        """URL -> reason from the ``failed: URL: reason`` lines."""
        found: dict[str, str] = {}
        for line in self.stderr.splitlines():
            m = re.match(r"failed: (\S+): (.*)$", line)
            if m:
                found[m.group(1)] = m.group(2)
        return found

    def posts(self) -> list[Path]:
        return sorted((self.out / "_posts").rglob("*.md")) if (self.out / "_posts").exists() else []


def env() -> dict[str, str]:
    out = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    out["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(PROJECT),
                                         *filter(None, [out.get("PYTHONPATH")])])  # fmt: skip
    out.pop("NEWSSPIDER_TEST_CRASH", None)
    return out


def run(name: str, root: Path, argv: Sequence[str], *, watch: Path, timeout: float = 120) -> Crawl:
    """Run ``newsspider ARGV -o root/out`` and check the two properties every crawl must have:
    nothing new anywhere under ``watch`` (the whole pytest temporary tree) outside ``root/out``,
    and no temporary or partial file inside it. Both go to the ledger; the tests assert on them
    too. Stats are read from Scrapy's stats dump (``--log-level INFO``)."""
    out = root / "out"
    summary = root / "summary.json"
    before = tree(watch)
    args = [sys.executable, "-m", "newsspider.cli", *argv, "-o", str(out), "--log-level", "INFO"]
    if argv[0] == "crawl":
        args += ["--summary-json", str(summary)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env(),
                          cwd=PROJECT, check=False)  # fmt: skip
    after = tree(watch)
    (root / "stderr.log").write_text(proc.stderr, "utf-8")  # for a failing test's reader
    inside = (
        out.relative_to(watch).as_posix() + "/",
        summary.relative_to(watch).as_posix(),
        (root / "stderr.log").relative_to(watch).as_posix(),
    )
    escaped = sorted(p for p in after - before if not p.startswith(inside)
                     and p != out.relative_to(watch).as_posix())  # fmt: skip
    LEDGER.escapes += [f"{name}: {p}" for p in escaped]
    LEDGER.escapes += [f"{name}: {p}" for p in escape_targets()]
    LEDGER.partial += [f"{name}: {p}" for p in partial_files(out)]
    finished = proc.returncode in (0, 1, 3) and "Traceback" not in proc.stderr
    LEDGER.crawls.append((name, proc.returncode, finished))
    LEDGER.outputs.append(out)
    stats = {k: int(v) for k, v in re.findall(r"'([a-z_]+/[^']+)': (\d+)[,}]", proc.stderr)}
    data = json.loads(summary.read_text("utf-8")) if summary.exists() else {}
    return Crawl(name, proc.returncode, proc.stderr, out, data, stats)


def escape_targets() -> list[str]:
    """The files the ``../`` inputs aim at, wherever they would land."""
    found = []
    for folder in {Path("/tmp"), Path(os.environ.get("TMPDIR", "/tmp")), PROJECT, Path.home()}:
        found += [str(p) for p in folder.glob(f"{ESCAPE_NAME}*")]
    return found


def partial_files(out: Path) -> list[str]:
    """Temporary files (``*.tmp``, dot files outside the state folder) and empty posts/images."""
    if not out.exists():
        return []
    bad = []
    for p in out.rglob("*"):
        rel = p.relative_to(out)
        if rel.parts[0] == ".newsspider":
            if p.name.endswith(".tmp"):
                bad.append(rel.as_posix())
            continue
        if (
            p.name.endswith(".tmp")
            or p.name.startswith((".", "~"))
            or (p.is_file() and p.stat().st_size == 0)
        ):
            bad.append(rel.as_posix())
    return bad


# --- the post checker ---------------------------------------------------------------------------


def _dangerous_url(value: str) -> bool:
    probe = _SCHEME_NOISE.sub("", html.unescape(value)).lower()
    return probe.startswith(BAD_SCHEMES)


def unsafe_markup(body: str) -> list[str]:
    """What a browser would run in ``body``, found by a real HTML parser (entities decoded by
    it): forbidden elements, ``on…``/``srcdoc``/``formaction`` attributes, script URLs. Text in
    comments is inert (the parser makes it a comment node, which is skipped)."""
    problems: list[str] = []
    doc = lxml.html.document_fromstring(f"<html><body><div>{body}</div></body></html>")
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue  # comments, processing instructions
        tag = el.tag.lower().rsplit("}", 1)[-1]
        if tag in FORBIDDEN_TAGS:
            problems.append(f"<{tag}> element")
        for name, value in el.items():
            lname = name.lower()
            if lname.startswith("on") or lname in FORBIDDEN_ATTRS:
                problems.append(f"{lname}= attribute on <{tag}>")
            if (lname in URL_ATTRS or lname.endswith("href")) and _dangerous_url(value):
                problems.append(f"{lname}={value[:40]!r} on <{tag}>")
    return problems


def check_post(path: Path, out: Path) -> list[str]:
    """Every FORMAT.md rule a post can be checked for on its own; [] when it passes."""
    problems: list[str] = []
    rel = path.relative_to(out)
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf") or b"\r" in data:
        problems.append("BOM or CR")
    text = data.decode("utf-8")
    if not text.startswith("\n---\n") or text.endswith("\n"):
        problems.append("does not start with \\n---\\n or ends with a newline")
    if "{" in text or "}" in text:
        problems.append("raw brace")
    m = _TEMPLATE.fullmatch(text)
    if m is None:
        return [*problems, "does not fill the post template (fields in order, body template)"]
    if m["head"] != m["thumb"]:
        problems.append("headimg != thumbnail")
    if not _RFC1123.fullmatch(m["date"]):
        problems.append(f"date {m['date']!r} is not RFC 1123")
    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # any YAML error is the finding
        return [*problems, f"front matter does not load: {exc}"]
    title = str(post.get("title", "")).replace("&#123;", "{").replace("&#125;", "}")
    if not title or title != title.strip() or "  " in title:
        problems.append(f"title {title[:40]!r} empty or not normalised")
    if any(unicodedata.category(c) in _REMOVED_CATEGORIES for c in title):
        problems.append(f"title {title[:40]!r} holds control/format characters")
    if [str(c) for c in post.get("categories", [])] != [m["c1"], m["c2"], m["c3"]] and not all(
        c.startswith("'") for c in (m["c1"], m["c2"], m["c3"])
    ):
        problems.append("categories do not load back")
    # file name rules
    parts = rel.parts
    if len(parts) != 5 or parts[0] != "_posts" or not parts[-1].endswith(".md"):
        problems.append(f"path {rel} is not _posts/c1/c2/c3/name.md")
    stem = parts[-1][:-3]
    base = re.sub(r" \([A-Za-z0-9_-]+\)$", "", stem)
    if len(base.encode("utf-8")) > 200 or not stem:
        problems.append(f"name {stem[:30]!r}… longer than 200 bytes or empty")
    if _NAME_FORBIDDEN.search(stem) or stem.startswith(("_", ".", " ")) or stem != stem.strip():
        problems.append(f"name {stem[:40]!r} holds a forbidden character or a hidden start")
    if _WINDOWS_RESERVED.match(stem) or stem in (".", ".."):
        problems.append(f"name {stem!r} is reserved")
    if not path.resolve().is_relative_to((out / "_posts").resolve()):
        problems.append("post outside _posts")
    problems += [f"unsafe markup: {p}" for p in unsafe_markup(m["body"])]
    return problems


def check_all(posts: Iterable[Path], out: Path) -> dict[str, list[str]]:
    found = {}
    for p in posts:
        bad = check_post(p, out)
        if bad:
            found[p.relative_to(out).as_posix()] = bad
    return found


def post_titles(posts: Iterable[Path]) -> dict[str, Path]:
    """Front-matter title (braces read back) -> post."""
    return {
        str(frontmatter.loads(p.read_text("utf-8")).get("title", ""))
        .replace("&#123;", "{")
        .replace("&#125;", "}"): p
        for p in posts
    }


__all__ = [
    "BASE_TIME",
    "ESCAPE_NAME",
    "HTML",
    "LEDGER",
    "Crawl",
    "article",
    "check_all",
    "check_post",
    "insert_body",
    "post_titles",
    "run",
    "unsafe_markup",
]
