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

Run: ``.venv/bin/python benchmarks/extraction.py [--reps N]``. It prints and asserts nothing.
Needs trafilatura (``pip install -e '.[bench]'`` and lxml_html_clean for lxml >= 5.2).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import statistics
import sys
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

HTML = PROJECT / "tests" / "fixtures" / "corpus" / "html"
TRUTH_FILE = PROJECT / "tests" / "data" / "corpus_truth.json"
FIELDS = ("title", "date", "time", "source", "images", "first paragraph", "last paragraph",
          "paragraph count")  # fmt: skip

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
        "images": [no_scheme(u) for u in a.images],
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


def accuracy(pages: list[tuple[str, str, bytes, dict[str, Any]]]) -> None:
    scores = {name: dict.fromkeys(FIELDS, 0) for name in ("newsspider", "trafilatura")}
    misses: dict[str, list[str]] = {"newsspider": [], "trafilatura": []}
    for name, url, raw, truth in pages:
        want = truth_fields(truth)
        for tool, fn in (("newsspider", newsspider_fields), ("trafilatura", trafilatura_fields)):
            got = fn(url, raw)
            for field in FIELDS:
                if right(field, got, want):
                    scores[tool][field] += 1
                elif tool == "newsspider":
                    misses[tool].append(f"{name}: {field}")
    n = len(pages)
    print(f"Accuracy on {n} corpus pages (exactly right vs tests/data/corpus_truth.json)")
    print(f"  {'field':<17} {'newsspider':>11} {'trafilatura':>12}")
    for field in FIELDS:
        ns, tr = scores["newsspider"][field], scores["trafilatura"][field]
        print(f"  {field:<17} {ns:>7}/{n:<3} {tr:>8}/{n:<3}")
    print("  (date = day only, time = to the minute; source: trafilatura counts if its author or")
    print("   site name is the page's source or media; text normalised alike for both)")
    if misses["newsspider"]:
        print("  newsspider misses:", "; ".join(misses["newsspider"]))
    print()


def measure(
    pages: list[tuple[str, str, bytes, dict[str, Any]]],
    tools: dict[str, Callable[[str, bytes], object]],
    reps: int,
) -> dict[str, list[float]]:
    """Median ms per page and tool, tools interleaved, each call right after a collection."""
    medians: dict[str, list[float]] = {tool: [] for tool in tools}
    for _, url, raw, _ in pages:
        samples: dict[str, list[float]] = {tool: [] for tool in tools}
        for _ in range(reps):
            for tool, fn in tools.items():  # interleaved: lxml, newsspider, trafilatura, ...
                gc.collect()
                start = time.perf_counter()
                fn(url, raw)
                samples[tool].append(time.perf_counter() - start)
        for tool in tools:
            medians[tool].append(statistics.median(samples[tool]) * 1000)
    return medians


def ratios(medians: dict[str, list[float]]) -> str:
    total = {tool: sum(values) for tool, values in medians.items()}
    ns_lxml = [n / x for n, x in zip(medians["newsspider"], medians["lxml"], strict=True)]
    tr_ns = [t / n for t, n in zip(medians["trafilatura"], medians["newsspider"], strict=True)]
    return (
        f"  newsspider / lxml:        {total['newsspider'] / total['lxml']:.2f}x over the corpus"
        f" (median page {statistics.median(ns_lxml):.2f}x, worst {max(ns_lxml):.2f}x)\n"
        f"  trafilatura / newsspider: {total['trafilatura'] / total['newsspider']:.1f}x over the"
        f" corpus (median page {statistics.median(tr_ns):.1f}x, least {min(tr_ns):.1f}x)"
    )


def timing(pages: list[tuple[str, str, bytes, dict[str, Any]]], reps: int) -> None:
    tools: dict[str, Callable[[str, bytes], object]] = {
        "lxml": lambda url, raw: lxml.html.document_fromstring(raw),
        "newsspider": lambda url, raw: extract(url, raw, "text/html"),
        "trafilatura": run_trafilatura,
    }
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
    print(f"Time per page, ms (median of {reps} interleaved runs per page, {len(pages)} pages)")
    print(f"  {'page':<46} {'lxml':>7} {'newsspider':>11} {'trafilatura':>12} {'ns/lxml':>8}")
    for i, (name, _, _, _) in enumerate(pages):
        lx, ns, tr = (medians[t][i] for t in ("lxml", "newsspider", "trafilatura"))
        print(f"  {name[:46]:<46} {lx:>7.2f} {ns:>11.2f} {tr:>12.2f} {ns / lx:>8.2f}")
    mean = {tool: sum(values) / len(pages) for tool, values in medians.items()}
    print(
        f"  {'mean per page':<46} {mean['lxml']:>7.2f} {mean['newsspider']:>11.2f}"
        f" {mean['trafilatura']:>12.2f}"
    )
    print()
    print(ratios(medians))
    cold_mean = {tool: sum(values) / len(pages) for tool, values in cold.items()}
    print()
    print(
        "Without freezing (every call after a full collection of the process, caches cold):"
        f" mean per page lxml {cold_mean['lxml']:.2f}, newsspider {cold_mean['newsspider']:.2f},"
        f" trafilatura {cold_mean['trafilatura']:.2f} ms"
    )
    print(ratios(cold))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="timed runs per page and tool")
    args = parser.parse_args()
    truth = json.loads(TRUTH_FILE.read_text("utf-8"))["pages"]
    pages = [
        (name, t["url"], (HTML / name).read_bytes(), t)
        for name, t in sorted(truth.items())
        if t.get("not_article") is None
    ]
    started = time.perf_counter()
    accuracy(pages)
    timing(pages, args.reps)
    print(f"\n(benchmark ran in {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
