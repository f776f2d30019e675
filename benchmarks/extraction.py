"""How right and how fast newsspider's page objects are, next to trafilatura and bare lxml.

Why: the page objects are hand-written per template family so that they are both exact and
cheap; this measures both claims on the saved corpus. Accuracy is counted against the ground
truth written by reading each page (``tests/data/corpus_truth.json``), field by field, for
newsspider and for trafilatura (a general-purpose extractor given the same bytes and URL). Speed
is the median time per page of newsspider's ``extract``, trafilatura's extraction and a bare
``lxml.html.document_fromstring`` of the same bytes (the floor for anything that parses the
page), measured interleaved in one run so that machine noise hits all three alike (each call
after a garbage collection, with the objects that live for the whole run frozen: see
``timing``).

The same accuracy is then measured on the corpus re-skinned (every ``id`` and ``class`` renamed,
as a Sina redesign does: ``tests/pages/reskin.py``), where no page object knows the pages and
the generic extractor reads them (#18), per field and per family, beside trafilatura's on the
same re-skinned bytes; and its speed there, against a bare parse.

``--before REV --after REV`` also times the known families' extraction of two revisions of the
code (each ``git archive``d into a temporary folder and imported under its own name), call by
call in one process, and prints the paired medians: the per-page ratio after/before; twice:
``extract()`` alone, and ``extract()`` to the post body the writer wraps (before #16 the writer
rendered the body from trees the Article carried; since, the Article holds the finished text).

Run: ``.venv/bin/python benchmarks/extraction.py [--reps N] [--before REV --after REV]``. It
prints and asserts nothing. Needs trafilatura (``pip install -e '.[bench]'`` and
lxml_html_clean for lxml >= 5.2); without it the trafilatura columns are left out.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import lxml.html

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from newsspider import NotAnArticle, extract  # noqa: E402

sys.path.insert(0, str(PROJECT / "tests" / "pages"))
from reskin import reskin  # noqa: E402

try:
    import trafilatura  # noqa: F401

    HAVE_TRAFILATURA = True
except ImportError:  # the accuracy and speed tables leave its columns out
    HAVE_TRAFILATURA = False

HTML = PROJECT / "tests" / "fixtures" / "corpus" / "html"
TRUTH_FILE = PROJECT / "tests" / "data" / "corpus_truth.json"
FIELDS = ("title", "date", "time", "source", "lead image", "images", "first paragraph",
          "last paragraph", "paragraph count")  # fmt: skip
#: the fields #18 scores a redesign by (title exact, publish time to the minute, lead image,
#: content images in order, first and last paragraph)
REDESIGN_FIELDS = ("title", "time", "lead image", "images", "first paragraph", "last paragraph")

_SPACES = re.compile(r"\s+")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)[^)]*\)")


def norm(text: str | None) -> str:
    """The same normalisation for both extractors and the truth: U+3000/U+00A0 are spaces,
    whitespace runs one space, stripped."""
    if not text:
        return ""
    return _SPACES.sub(" ", text.replace("\u3000", " ").replace("\xa0", " ")).strip()


def no_scheme(url: str) -> str:
    """Compare image URLs without their scheme: http/https/protocol-relative are one image."""
    return re.sub(r"^(?:https?:)?//", "//", url.strip())


def minute(value: str | None) -> str:
    """``YYYY-MM-DD HH:MM`` of an ISO or ``YYYY-MM-DD HH:MM`` string ("" when absent)."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value[:16]


def truth_fields(t: dict[str, Any]) -> dict[str, Any]:
    when = minute(t["created_at"] or t["published"])
    return {
        "title": norm(t["title"]),
        "date": when[:10],
        "time": when,
        "source": {t["source"], t["media"]} - {""},
        "lead image": [no_scheme(u) for u in t["images"][:1]],
        "images": [no_scheme(u) for u in t["images"]],
        "first paragraph": t["first_paragraph"],
        "last paragraph": t["last_paragraph"],
        "paragraph count": t["paragraph_count"],
    }


def newsspider_fields(url: str, raw: bytes) -> dict[str, Any]:
    try:
        a = extract(url, raw, "text/html")
    except NotAnArticle:
        return {}
    when = a.created_at or a.published
    paragraphs = [norm(p) for p in a.paragraphs]
    stamp = when.strftime("%Y-%m-%d %H:%M") if when else ""
    return {
        "title": norm(a.title),
        "date": stamp[:10],
        "time": stamp,
        "source": norm(a.source),
        "lead image": [no_scheme(u) for u in a.images[:1]],
        "images": [no_scheme(u) for u in a.images],
        "family": a.family,
        "first paragraph": paragraphs[0] if paragraphs else "",
        "last paragraph": paragraphs[-1] if paragraphs else "",
        "paragraph count": len(paragraphs),
    }


def run_trafilatura(url: str, raw: bytes) -> Any:
    import trafilatura

    return trafilatura.bare_extraction(
        raw,
        url=url,
        with_metadata=True,
        include_images=True,
        date_extraction_params={
            "extensive_search": True,
            "original_date": True,
            "outputformat": "%Y-%m-%d %H:%M",
        },
    )


def trafilatura_fields(url: str, raw: bytes) -> dict[str, Any]:
    doc = run_trafilatura(url, raw)
    if doc is None:
        return {}
    text = doc.text or ""
    images = [no_scheme(urljoin(url, m.group(1))) for m in _MD_IMAGE.finditer(text)]
    lines = [norm(_MD_IMAGE.sub("", line)) for line in text.split("\n")]
    paragraphs = [line for line in lines if line]
    date = doc.date or ""
    return {
        "title": norm(doc.title),
        "date": date[:10],
        # a date without a time comes back as 00:00: that is not the article's minute
        "time": date if len(date) >= 16 and not date.endswith("00:00") else "",
        "source": {norm(doc.author), norm(doc.sitename)} - {""},
        "lead image": images[:1],
        "images": images,
        "first paragraph": paragraphs[0] if paragraphs else "",
        "last paragraph": paragraphs[-1] if paragraphs else "",
        "paragraph count": len(paragraphs),
    }


def right(field: str, got: dict[str, Any], want: dict[str, Any]) -> bool:
    if field not in got:
        return False
    if field == "source":  # newsspider: one shown source; trafilatura: author or site name
        have = got[field] if isinstance(got[field], set) else {got[field]}
        return bool(have & want[field])
    return bool(got[field] == want[field])


Page = tuple[str, str, bytes, dict[str, Any]]


def score(
    pages: list[Page], fn: Callable[[str, bytes], dict[str, Any]]
) -> tuple[dict[str, int], dict[str, dict[str, int]], list[str], dict[str, str]]:
    """(fields right per field, per family, the misses, which extractor made each page)."""
    per_field = dict.fromkeys(FIELDS, 0)
    per_family: dict[str, dict[str, int]] = {}
    misses: list[str] = []
    made_by: dict[str, str] = {}
    for name, url, raw, truth in pages:
        want = truth_fields(truth)
        got = fn(url, raw)
        made_by[name] = got.get("family", "refused") if got else "refused"
        fam = per_family.setdefault(truth["family"], {"pages": 0, "right": 0, "possible": 0})
        fam["pages"] += 1
        for field in FIELDS:
            ok = right(field, got, want)
            per_field[field] += ok
            if field in REDESIGN_FIELDS:
                fam["right"] += ok
                fam["possible"] += 1
            if not ok:
                misses.append(f"{name}: {field}")
    return per_field, per_family, misses, made_by


def accuracy(pages: list[Page]) -> None:
    skinned = [(name, url, reskin(raw), truth) for name, url, raw, truth in pages]
    runs = {
        "newsspider": score(pages, newsspider_fields),
        "re-skinned": score(skinned, newsspider_fields),
    }
    if HAVE_TRAFILATURA:
        runs["trafilatura"] = score(pages, trafilatura_fields)
        runs["trafilatura re-sk."] = score(skinned, trafilatura_fields)
    n = len(pages)
    print(f"Accuracy on {n} corpus pages (exactly right vs tests/data/corpus_truth.json), as saved")
    print("and re-skinned (every id and class renamed: tests/pages/reskin.py)")
    print(f"  {'field':<17}" + "".join(f" {tool:>19}" for tool in runs))
    for field in FIELDS:
        mark = "*" if field in REDESIGN_FIELDS else " "
        cells = "".join(f" {runs[tool][0][field]:>15}/{n:<3}" for tool in runs)
        print(f"  {field:<16}{mark}{cells}")
    for tool, (per_field, _, _, _) in runs.items():
        got = sum(per_field[f] for f in REDESIGN_FIELDS)
        possible = n * len(REDESIGN_FIELDS)
        print(f"  {tool:<19} #18 fields (*): {got}/{possible} = {got / possible:.1%}")
    print("  (date = day only, time = to the minute; source: trafilatura counts if its author or")
    print("   site name is the page's source or media; text normalised alike for both)")
    made: dict[str, int] = {}
    for family in runs["re-skinned"][3].values():
        made[family] = made.get(family, 0) + 1
    print(f"  re-skinned pages made by: {made} (as saved: "
          f"{sorted(set(runs['newsspider'][3].values()))})")  # fmt: skip
    print()
    print("Per family: #18 fields (*) right, as saved and re-skinned")
    print(f"  {'family':<8} {'pages':>5}" + "".join(f" {tool:>19}" for tool in runs))
    for family in sorted(runs["newsspider"][1]):
        cells = ""
        for tool in runs:
            fam = runs[tool][1][family]
            cells += f" {fam['right']:>15}/{fam['possible']:<3}"
        print(f"  {family:<8} {runs['newsspider'][1][family]['pages']:>5}{cells}")
    for tool in ("newsspider", "re-skinned"):
        if runs[tool][2]:
            print(f"  {tool} misses:", "; ".join(runs[tool][2]))
    print()


def measure(
    pages: list[tuple[str, str, bytes, dict[str, Any]]],
    tools: dict[str, Callable[[str, bytes], object]],
    reps: int,
    stat: Callable[[list[float]], float] = statistics.median,
) -> dict[str, list[float]]:
    """Median (or ``stat``) ms per page and tool, tools interleaved, each call right after a
    collection."""
    medians: dict[str, list[float]] = {tool: [] for tool in tools}
    for _, url, raw, _ in pages:
        samples: dict[str, list[float]] = {tool: [] for tool in tools}
        order = list(tools.items())
        for rep in range(reps):
            # interleaved (lxml, newsspider, trafilatura, ...), the order reversed every other
            # run so that no tool always runs first after the page's previous one
            for tool, fn in order if rep % 2 == 0 else order[::-1]:
                gc.collect()
                start = time.perf_counter()
                fn(url, raw)
                samples[tool].append(time.perf_counter() - start)
        for tool in tools:
            medians[tool].append(stat(samples[tool]) * 1000)
    return medians


def ratios(medians: dict[str, list[float]]) -> str:
    total = {tool: sum(values) for tool, values in medians.items()}
    ns_lxml = [n / x for n, x in zip(medians["newsspider"], medians["lxml"], strict=True)]
    out = (
        f"  newsspider / lxml:        {total['newsspider'] / total['lxml']:.2f}x over the corpus"
        f" (median page {statistics.median(ns_lxml):.2f}x, worst {max(ns_lxml):.2f}x)"
    )
    if "trafilatura" in medians:
        tr_ns = [t / n for t, n in zip(medians["trafilatura"], medians["newsspider"], strict=True)]
        out += (
            f"\n  trafilatura / newsspider: {total['trafilatura'] / total['newsspider']:.1f}x over"
            f" the corpus (median page {statistics.median(tr_ns):.1f}x, least {min(tr_ns):.1f}x)"
        )
    return out


def timing(pages: list[Page], reps: int, title: str = "as saved") -> None:
    tools: dict[str, Callable[[str, bytes], object]] = {
        "lxml": lambda url, raw: lxml.html.document_fromstring(raw),
        "newsspider": lambda url, raw: extract(url, raw, "text/html"),
    }
    if HAVE_TRAFILATURA:
        tools["trafilatura"] = run_trafilatura
    for _, url, raw, _ in pages:  # warm up imports, caches, compiled expressions
        for fn in tools.values():
            fn(url, raw)
    # Each timed call starts after a collection, so that no tool pays for another's garbage.
    # What lives for the whole run (modules, caches, the pages) is frozen first: a collection
    # that walks every object of the process before each call leaves every tool a cold CPU
    # cache (~0.5 ms a call here, about half a page's parse), which is the harness's cost,
    # not the tool's. The same figures without freezing are printed after, for comparison.
    gc.collect()
    gc.freeze()
    medians = measure(pages, tools, reps)
    gc.unfreeze()
    cold = measure(pages, tools, reps)
    print(f"Time per page, ms, {title} (median of {reps} interleaved runs per page, "
          f"{len(pages)} pages)")  # fmt: skip
    names = list(tools)
    print(f"  {'page':<46}" + "".join(f" {t:>11}" for t in names) + f" {'ns/lxml':>8}")
    for i, (name, _, _, _) in enumerate(pages):
        cells = "".join(f" {medians[t][i]:>11.2f}" for t in names)
        print(f"  {name[:46]:<46}{cells} {medians['newsspider'][i] / medians['lxml'][i]:>8.2f}")
    mean = {tool: sum(values) / len(pages) for tool, values in medians.items()}
    print(f"  {'mean per page':<46}" + "".join(f" {mean[t]:>11.2f}" for t in names))
    print()
    print(ratios(medians))
    cold_mean = {tool: sum(values) / len(pages) for tool, values in cold.items()}
    print()
    print(
        "Without freezing (every call after a full collection of the process, caches cold):"
        " mean per page " + ", ".join(f"{t} {cold_mean[t]:.2f}" for t in names) + " ms"
    )
    print(ratios(cold))
    gc.collect()
    gc.freeze()
    best = measure(pages, tools, reps, min)
    gc.unfreeze()
    print()
    print(f"Best of {reps} runs a page (the least noisy figure on a shared machine):"
          " mean per page " + ", ".join(f"{t} {sum(best[t]) / len(pages):.2f}" for t in names)
          + " ms")  # fmt: skip
    print(ratios(best))
    print()


def revision(rev: str, into: Path, tag: str = "") -> Callable[..., Any]:
    """``extract`` of the code at git revision ``rev`` ("worktree": the files as they are),
    importable beside the current one: the package is copied under another name and its own
    imports renamed."""
    name = "newsspider_" + re.sub(r"\W", "_", rev) + tag
    target = into / name
    if rev == "worktree":
        subprocess.run(["cp", "-r", str(PROJECT / "newsspider"), str(target)], check=True)
    else:
        archive = subprocess.run(["git", "-C", str(PROJECT), "archive", rev, "newsspider"],
                                 check=True, capture_output=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
        (into / "newsspider").rename(target)
    for path in target.rglob("*.py"):
        code = path.read_text("utf-8")
        code = re.sub(r"\b(from|import) newsspider\b", rf"\1 {name}", code)
        code = code.replace('"newsspider.', f'"{name}.')
        path.write_text(code, "utf-8")
    if str(into) not in sys.path:
        sys.path.insert(0, str(into))
    return importlib.import_module(f"{name}.pages").extract  # type: ignore[no-any-return]


def to_post_body(extract: Callable[..., Any]) -> Callable[..., Any]:
    """``extract`` and then the post body the writer wraps, for the revision ``extract`` came
    from. Why: #16 moved the body transform out of the writer (``archive.body.post_body``) into
    extraction (``Article.body`` is the finished text), so ``extract`` alone does more work after
    it than before; this times the same work on both sides of that move."""
    package = extract.__module__.split(".")[0]
    try:
        post_body = importlib.import_module(f"{package}.archive.body").post_body
    except (ImportError, AttributeError):  # after #16: the Article already holds the body
        return extract
    return lambda *args: post_body(extract(*args))


def _html(fn: Callable[..., Any]) -> Callable[[str, bytes], object]:
    return lambda url, raw: fn(url, raw, "text/html")


def paired(pages: list[Page], before: str, after: str, reps: int) -> None:
    """Known-family extraction time of two revisions, call by call (before, after, before...)
    on the same bytes in one process: the per-page ratio of the medians, and its median."""
    with tempfile.TemporaryDirectory() as tmp:
        # tagged apart: a revision against itself measures the harness's own noise
        fns = {
            "before": revision(before, Path(tmp), "_a"),
            "after": revision(after, Path(tmp), "_b"),
        }
        kinds = {
            "extract()": {rev: _html(fn) for rev, fn in fns.items()},
            "extract() to the post body": {rev: _html(to_post_body(fn)) for rev, fn in fns.items()},
        }
        for tools in kinds.values():
            for _, url, raw, _ in pages:
                for fn in tools.values():
                    fn(url, raw)
        gc.collect()
        gc.freeze()
        stats: dict[str, Callable[[list[float]], float]] = {
            "paired medians": statistics.median,
            "paired minimums (the least noisy on a shared machine)": min,
        }
        figures = {
            (kind, name): measure(pages, tools, reps, stat)
            for kind, tools in kinds.items()
            for name, stat in stats.items()
        }
        gc.unfreeze()
    for (kind, name), medians in figures.items():
        print(f"Known families, {kind}, {before} vs {after}: ms per page ({name} of {reps} "
              "interleaved runs)")  # fmt: skip
        page_ratios = []
        for i, (page, _, _, _) in enumerate(pages):
            b, a = medians["before"][i], medians["after"][i]
            page_ratios.append(a / b)
            print(f"  {page[:46]:<46} {b:>8.3f} {a:>8.3f} {a / b:>7.3f}")
        total = sum(medians["after"]) / sum(medians["before"])
        print(f"  after/before: median page {statistics.median(page_ratios):.3f}x, over the"
              f" corpus {total:.3f}x, worst page {max(page_ratios):.3f}x")  # fmt: skip
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="timed runs per page and tool")
    parser.add_argument("--before", help="git revision to time the known families against")
    parser.add_argument("--after", default="worktree",
                        help="the other revision (default: the files as they are)")  # fmt: skip
    parser.add_argument("--only-paired", action="store_true", help="skip accuracy and timing")
    args = parser.parse_args()
    truth = json.loads(TRUTH_FILE.read_text("utf-8"))["pages"]
    pages = [
        (name, t["url"], (HTML / name).read_bytes(), t)
        for name, t in sorted(truth.items())
        if t.get("not_article") is None
    ]
    started = time.perf_counter()
    if not args.only_paired:
        accuracy(pages)
        timing(pages, args.reps)
        skinned = [(name, url, reskin(raw), t) for name, url, raw, t in pages]
        timing(skinned, args.reps, "re-skinned (the generic extractor)")
    if args.before:
        paired(pages, args.before, args.after, args.reps)
    print(f"(benchmark ran in {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
