"""How fast ``newsspider search`` answers on a 10,000-article archive.

Why: search must feel instant on a real archive (target: the query itself under 50 ms), and the
command must start without Scrapy. This builds an index of 10,000 articles directly through the
archive's index API (no crawl, no post files: search reads only the index), with realistic
Chinese text: every article is a deterministic mix of paragraphs extracted from the saved corpus
and golden pages, under a title taken from them plus a serial number. It then prints the median
time of the search query itself (in process) for several kinds of query, and the median wall
time of the whole ``newsspider search`` command (a fresh process each time).

Run: ``.venv/bin/python benchmarks/search.py [--articles N] [--reps N] [--keep DIR]``. It prints
figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "tests"))

from rollreplay import corpus_pages, golden_cases  # noqa: E402

from newsspider import NotAnArticle, extract  # noqa: E402
from newsspider.archive.fulltext import connect_readonly, search  # noqa: E402
from newsspider.archive.index import Index, Record  # noqa: E402
from newsspider.archive.plaintext import html_text  # noqa: E402

BEIJING = timezone(timedelta(hours=8))
CATEGORIES = ("金融", "新浪财经", "新浪财经－国內")


def source_texts() -> tuple[list[str], list[str]]:
    """(titles, paragraphs) of every corpus and golden page the page objects can read."""
    titles: list[str] = []
    paragraphs: list[str] = []
    pages = [(u, h) for _, u, h in corpus_pages()] + [(g.url, g.html) for g in golden_cases()]
    for url, html in pages:
        try:
            article = extract(url, html, None)
        except NotAnArticle:
            continue
        titles.append(article.title)
        paragraphs += [p for p in article.paragraphs if len(p) >= 20]
    return titles, paragraphs


def build(output: Path, n: int, seed: int = 20240510) -> list[Record]:
    """``n`` article rows in ``output``'s index, in one transaction."""
    titles, paragraphs = source_texts()
    rng = random.Random(seed)
    start = datetime(2020, 1, 1, 8, 0, tzinfo=BEIJING)
    index = Index(output)
    records = []
    try:
        index.db.execute("BEGIN")
        for i in range(n):
            title = f"{rng.choice(titles)}（第{i}期）"
            chosen = rng.sample(paragraphs, rng.randint(3, 9))
            body = "\n".join(f"<p>\u3000\u3000{escape(p)}</p>" for p in chosen)
            when = start + timedelta(minutes=97 * i)
            doc_id = f"bench{i:07d}"
            rec = Record(
                key=doc_id,
                url=f"https://finance.sina.com.cn/china/{when:%Y-%m-%d}/doc-i{doc_id}.shtml",
                doc_id=doc_id,
                channel="china",
                path="/".join(("_posts", *CATEGORIES, f"{doc_id}.md")),
                content_hash="0" * 64,
                date=when.strftime("%a, %d %b %Y %H:%M:%S GMT"),
                title=title,
                published=when.isoformat(),
                source="新浪财经综合",
                status="archived",
                body=body,
                text=html_text(body),
            )
            index.put(rec)
            records.append(rec)
        index.db.execute("COMMIT")
    finally:
        index.close()
    return records


def queries(records: list[Record], rng: random.Random) -> dict[str, list[str]]:
    """Kinds of query, several instances each, all drawn from the articles themselves."""

    def phrase(text: str, length: int) -> str:
        for _ in range(100):
            start = rng.randrange(0, max(1, len(text) - length))
            piece = text[start : start + length]
            if len(piece) == length and not any(c.isspace() for c in piece):
                return piece
        return text[:length]

    sample = rng.sample(records, 20)
    return {
        "4-char body phrase": [phrase(r.text, 4) for r in sample],
        "title phrase + serial (1 hit)": [r.title[-8:] for r in sample],
        "two terms": [f"{phrase(r.text, 3)} {phrase(r.text, 4)}" for r in sample],
        "no match": ["量子纠缠隐形传态" + str(i) for i in range(5)],
        "2-char term (LIKE scan)": ["经济", "市场", "银行", "数据", "改革"],
    }


def timed(fn: object, reps: int) -> float:
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5, help="timed runs per query")
    parser.add_argument("--keep", metavar="DIR", help="build the archive here and keep it")
    args = parser.parse_args()
    output = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="newsspider-bench-"))
    if output.exists():
        shutil.rmtree(output / ".newsspider", ignore_errors=True)
    try:
        t = time.perf_counter()
        records = build(output, args.articles)
        built = time.perf_counter() - t
        size = sum(f.stat().st_size for f in (output / ".newsspider").glob("index.sqlite3*"))
        print(f"built {len(records)} articles in {built:.1f} s "
              f"(index {size / 1e6:.0f} MB, {sum(len(r.text) for r in records) / 1e6:.1f} M "
              "characters of text)")  # fmt: skip
        rng = random.Random(7)
        db = connect_readonly(output)
        print("\nthe query itself (in process, median per query, --limit 20):")
        for kind, qs in queries(records, rng).items():
            times, totals = [], []
            for q in qs:
                times.append(timed(lambda q=q: search(db, q, limit=20), args.reps))
                totals.append(search(db, q, limit=20)[1])
            print(f"  {kind:32} median {statistics.median(times) * 1000:7.2f} ms   "
                  f"max {max(times) * 1000:7.2f} ms   matches median "
                  f"{statistics.median(totals):.0f}")  # fmt: skip
        db.close()

        exe = Path(sys.executable).with_name("newsspider")
        command = [str(exe)] if exe.exists() else [sys.executable, "-m", "newsspider.cli"]
        phrase = records[len(records) // 2].title[-8:]
        wall = []
        for _ in range(args.reps):
            t = time.perf_counter()
            subprocess.run([*command, "search", "-o", str(output), phrase], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            wall.append(time.perf_counter() - t)
        print(
            f"\nthe whole command `newsspider search -o DIR {phrase}`: median wall "
            f"{statistics.median(wall) * 1000:.0f} ms over {args.reps} runs"
        )
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        print(f"(a bare `python -c pass` takes {(time.perf_counter() - t) * 1000:.0f} ms here)")
    finally:
        if not args.keep:
            shutil.rmtree(output, ignore_errors=True)


if __name__ == "__main__":
    main()
