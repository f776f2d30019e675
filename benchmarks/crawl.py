"""End-to-end crawl throughput, CPU cost and memory, next to Scrapy's own floor.

Why: the page objects, the body serialiser, the index and the images pipeline are each cheap on
their own; what a user waits for is the whole crawl. This builds a replay directory of N
articles (copies of the real corpus and golden pages, each with its own doc id, URL, title and
date, and one to three images of its own, real JPEG/PNG/GIF files made with Pillow), with the
roll API pages listing them, and runs the real ``newsspider crawl --replay DIR --pages K
--images local`` over it into a fresh output folder, in a subprocess. Then it runs the same
command again over the now-complete archive (the incremental run: roll page 1 only, nothing
fetched).

The FLOOR is what any Scrapy project pays for the same requests: Scrapy's default engine
(default settings but ``LOG_LEVEL=ERROR``, ``ROBOTSTXT_OBEY=False``,
``TELNETCONSOLE_ENABLED=False``, ``CONCURRENT_REQUESTS=32``) answering the same roll pages,
article pages and images from memory through a one-line downloader middleware, with a no-op
callback plus a bare ``lxml.html.document_fromstring`` of each article page. Floor and
newsspider runs alternate (floor, newsspider, floor, ...) so that machine noise hits both; the
medians are printed. CPU is whole-process (interpreter start and imports included): the
``rusage`` of each child, read by ``os.wait4`` (the per-child form of
``getrusage(RUSAGE_CHILDREN)`` deltas, which also gives each child's own peak RSS).

The WORK FLOOR (issue 19) is the engine floor plus the work an archive cannot skip, done the
plain way in the same process: each response's bytes written to a new file (temporary name, then
rename); per page one lxml parse, one SQLite row and one FTS5 trigram row, committed every 100
articles, WAL; per image a full Pillow decode of every frame and one SQLite row. Its CPU is
counted after imports; newsspider's is the whole process's. The crawl also runs under a wrapper
that reads ``/proc/self/io`` at exit (read/write calls per article), and one extra run under
``strace -c -f`` (when installed) counts every syscall per article.

The split of CPU per article (engine / extraction / body transform / writing / images) comes
from one extra run under cProfile, its fractions applied to the median unprofiled CPU time.

Run: ``.venv/bin/python benchmarks/crawl.py [-n 2000] [--sizes 500,2000,10000] [--reps 3]``.
It prints and asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

GOLDEN = PROJECT / "tests" / "fixtures" / "golden"
CORPUS = PROJECT / "tests" / "fixtures" / "corpus" / "html"
BEIJING = timezone(timedelta(hours=8))
PAGE_SIZE = 50
ROLL = "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686&k=&num=50&page={}"
IMAGE_HOST = "https://n.sinaimg.cn/finance/bench"
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
#: the newest article's roll ctime; older ones follow a minute apart
NEWEST = int(datetime(2023, 6, 1, 12, 0, tzinfo=BEIJING).timestamp())


# --- building the replay directory ---------------------------------------------------------


@dataclass
class Template:
    """One real page, and where its identity and body sit in its text."""

    name: str
    url: str
    text: str  # decoded
    encoding: str
    title: str
    doc_id: str
    created: str  # the create_at meta value as the page writes it, or ""
    container_start: int  # offset just after the body container's start tag


def _templates() -> Iterator[tuple[str, str, bytes]]:
    from newsspider.markup.urls import canonical_article_url

    for case in sorted(GOLDEN.iterdir()):
        meta = json.loads((case / "case.json").read_text("utf-8"))
        yield case.name, meta["url"], (case / "article.html").read_bytes()
    for line in (CORPUS / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]:
        fields = line.split("\t")
        url = canonical_article_url(fields[4].split(" ", 1)[0])
        yield fields[0], url, (CORPUS / fields[0]).read_bytes()


def _container_offset(text: str, page: Any) -> int:
    """Where the body container's start tag ends in ``text``: the images go right inside it."""
    from newsspider.pages.base import strip_dataset_wrapper

    el = page.container
    tag = el.tag
    attrs = [f"{name}\\s*=\\s*[\"']?{re.escape(value)}\\b" for name, value in el.items()
             if name in ("id", "class") and value]  # fmt: skip
    if not attrs:
        raise ValueError("body container without id or class")
    stripped = strip_dataset_wrapper(text)
    shift = text.find(stripped[:200]) if stripped is not text else 0
    lines = stripped.split("\n")
    start = shift + sum(len(line) + 1 for line in lines[: max(0, (el.sourceline or 1) - 1)])
    pattern = re.compile(rf"<{tag}\b[^>]*?{attrs[0]}[^>]*>", re.IGNORECASE)
    m = pattern.search(text, start) or pattern.search(text)
    if not m:
        raise ValueError(f"body container <{tag} {attrs[0]}> not found in the text")
    return m.end()


def load_templates() -> tuple[list[Template], list[str]]:
    """Every page whose copies extract as intended (checked on two copies), and why others
    were left out."""
    from newsspider.pages import FAMILIES, Probe, extract
    from newsspider.pages.base import decode_html, parse_html, strip_dataset_wrapper

    kept: list[Template] = []
    skipped: list[str] = []
    for name, url, body in _templates():
        try:
            art = extract(url, body)
            text, enc = decode_html(body)
            root = parse_html(strip_dataset_wrapper(text))
            family = next(f for f in FAMILIES if f.matches(Probe(url, root)))
            page = family(url, body, decoded=(text, enc), root=root)
            created = ""
            if art.created_at is not None:
                created = art.created_at.strftime("%Y-%m-%d %H:%M:%S")
                created = created if created in text else ""
            tpl = Template(name, url, text, "gb18030" if enc == "gb18030" else enc, art.title,
                           art.doc_id, created, _container_offset(text, page))  # fmt: skip
            if art.title not in text:
                raise ValueError("its title is not verbatim in the page")
            for n in (0, 1):
                _check_copy(tpl, n)
        except Exception as exc:  # a benchmark reports a page it cannot copy and goes on
            skipped.append(f"{name}: {exc}")
            continue
        kept.append(tpl)
    return kept, skipped


def _new_doc_id(tpl: Template, n: int) -> str:
    if tpl.doc_id.isdigit():
        return str(9_000_000_000 + n)
    return f"{(tpl.doc_id or 'x')[:3]}bench{n:07d}"


@dataclass
class Copy:
    url: str
    doc_id: str
    title: str
    ctime: int
    html: bytes
    images: list[tuple[str, str]]  # (url, pool file)


_FORMATS = {".jpg": "image/jpeg", ".png": "image/png", ".gif": "image/gif"}


def make_copy(tpl: Template, n: int, pool: list[str] | None = None) -> Copy:
    """Copy ``n`` of a page: its own doc id, URL, title, date and ``1 + n % 3`` images."""
    pool = pool or ["p00.jpg", "p01.png", "p02.gif"]
    doc_id = _new_doc_id(tpl, n)
    title = f"第{n}篇 {tpl.title}"
    ctime = NEWEST - 60 * n
    text = tpl.text
    images = []
    for k in range(1 + n % 3):
        file = pool[(3 * n + k) % len(pool)]
        day = datetime.fromtimestamp(ctime, BEIJING).strftime("%Y%m%d")  # Sina's dated folders
        images.append((f"{IMAGE_HOST}/{day}/{doc_id}-{k}{Path(file).suffix}", file))
    tags = "".join(f'<img src="{u}" alt="">' for u, _ in images)
    text = text[: tpl.container_start] + tags + text[tpl.container_start :]
    text = _IMG_TAG.sub(lambda m: m.group() if "/bench/" in m.group() else "", text)
    text = text.replace(tpl.title, title)
    url = tpl.url
    if tpl.doc_id:
        text = text.replace(tpl.doc_id, doc_id)
        url = url.replace(tpl.doc_id, doc_id) if tpl.doc_id in url else url
    if url == tpl.url:  # no id in the URL: a suffix on the file name keeps it apart
        head, slash, last = url.rpartition("/")
        stem, dot, ext = last.rpartition(".")
        url = f"{head}{slash}{stem}-{doc_id}.{ext}" if dot else f"{url}-{doc_id}"
    if tpl.created:
        created = datetime.fromtimestamp(ctime, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        text = text.replace(tpl.created, created)
    return Copy(url, doc_id, title, ctime, text.encode(tpl.encoding), images)


def _check_copy(tpl: Template, n: int) -> None:
    from newsspider.archive.store import article_key
    from newsspider.pages import extract

    copy = make_copy(tpl, n)
    art = extract(copy.url, copy.html)
    if art.title != copy.title:
        raise ValueError(f"copy title {art.title!r}")
    if article_key(art) in (tpl.doc_id, tpl.url) or copy.doc_id not in article_key(art) + art.url:
        raise ValueError(f"copy key {article_key(art)!r} is not its own")
    if art.body_images != [u for u, _ in copy.images]:
        raise ValueError(f"copy images {art.body_images}")


#: the image sizes of the pool: ``photo`` (what Sina's articles show, 300 to 640 pixels wide)
#: or ``small`` (64x48, issue 19's measurement: the per-image path rather than Pillow's decode)
IMAGE_SIZES = {
    "photo": [(320, 240), (480, 320), (640, 360), (400, 400), (560, 420), (300, 200)],
    "small": [(64, 48)],
}


def make_image_pool(directory: Path, size: str = "photo") -> list[str]:
    """Real images (JPEG, PNG, GIF; two GIFs animated), made with Pillow."""
    from PIL import Image, ImageDraw

    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(9)
    names: list[str] = []
    sizes = IMAGE_SIZES[size]
    for i in range(24):
        w, h = sizes[i % len(sizes)]
        ext = (".jpg", ".jpg", ".png", ".jpg", ".gif", ".png")[i % 6]
        frames = []
        for f in range(3 if ext == ".gif" and i % 12 == 4 else 1):
            img = Image.new("RGB", (w, h), (rng.randrange(256), rng.randrange(256), 200))
            draw = ImageDraw.Draw(img)
            for _ in range(40):
                x, y = rng.randrange(w), rng.randrange(h)
                draw.rectangle((x, y, x + rng.randrange(60), y + rng.randrange(40)),
                               fill=(rng.randrange(256), rng.randrange(256), f * 80))  # fmt: skip
            frames.append(img)
        out = BytesIO()
        if ext == ".jpg":
            frames[0].save(out, "JPEG", quality=82)
        elif ext == ".png":
            frames[0].save(out, "PNG")
        else:
            frames = [fr.convert("P", palette=Image.Palette.ADAPTIVE) for fr in frames]
            frames[0].save(out, "GIF", save_all=len(frames) > 1, append_images=frames[1:],
                           duration=100, loop=0)  # fmt: skip
        name = f"img/p{i:02d}{ext}"
        (directory / name).parent.mkdir(exist_ok=True)
        (directory / name).write_bytes(out.getvalue())
        names.append(name)
    return names


def roll_item(copy: Copy) -> dict[str, Any]:
    """A ``data[]`` entry as the roll API writes it (corpus/api/roll-155-1686-constructed)."""
    return {
        "url": copy.url.replace("https://", "http://", 1),
        "wapurl": "",
        "title": copy.title[:20] + "...",
        "intro": "",
        "keywords": "",
        "media_name": "新浪财经综合",
        "author": "",
        "ctime": str(copy.ctime),
        "intime": str(copy.ctime + 7),
        "mtime": str(copy.ctime + 300),
        "lids": "1686,2509",
        "docid": f"comos:{copy.doc_id}",
        "img": [],
        "images": [],
    }


def build_replay(directory: Path, n: int, images: str = "photo") -> dict[str, Any]:
    """A replay directory of ``n`` articles and their roll pages; returns what it holds."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "a").mkdir(parents=True)
    templates, skipped = load_templates()
    pool = make_image_pool(directory, images)
    rows = ["url\tfile\tstatus\tcontent_type"]
    items: list[dict[str, Any]] = []
    images = 0
    for i in range(n):
        tpl = templates[i % len(templates)]
        copy = make_copy(tpl, i, pool)
        file = f"a/{i:06d}.html"
        (directory / file).write_bytes(copy.html)
        charset = "gb2312" if tpl.encoding == "gb18030" else "utf-8"
        rows.append(f"{copy.url}\t{file}\t200\ttext/html; charset={charset}")
        for url, pool_file in copy.images:
            rows.append(f"{url}\t{pool_file}\t200\t{_FORMATS[Path(pool_file).suffix]}")
            images += 1
        items.append(roll_item(copy))
    pages = math.ceil(n / PAGE_SIZE)
    for page in range(1, pages + 1):
        data = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        body = {"result": {"status": {"code": 0, "msg": "succ"},
                           "timestamp": "Thu Jun 01 12:00:00 +0800 2023", "total": n,
                           "lid": "1686", "data": data}}  # fmt: skip
        file = f"roll/{page:05d}.json"
        (directory / file).parent.mkdir(exist_ok=True)
        (directory / file).write_text(json.dumps(body, ensure_ascii=False), "utf-8")
        rows.append(f"{ROLL.format(page)}\t{file}\t200\tapplication/json; charset=utf-8")
    (directory / "MANIFEST.tsv").write_text("\n".join(rows) + "\n", "utf-8")
    return {"articles": n, "images": images, "pages": pages,
            "templates": [t.name for t in templates], "skipped": skipped}  # fmt: skip


# --- the floor: Scrapy's default engine, same requests, from memory -------------------------


def floor_child(replay: str) -> None:
    """Run in a subprocess: the default engine answering every manifest URL from memory."""
    import lxml.html
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import Response

    answers: dict[str, bytes] = {}
    html: set[str] = set()
    root = Path(replay)
    for line in (root / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]:
        url, file, _status, ctype = line.split("\t")
        answers[url] = (root / file).read_bytes()
        if ctype.startswith("text/html"):
            html.add(url)

    class MemoryMiddleware:
        def process_request(self, request: scrapy.Request) -> Response:
            return Response(request.url, body=answers[request.url], request=request)

    class FloorSpider(scrapy.Spider):
        name = "floor"

        async def start(self) -> Any:
            for url in answers:
                yield scrapy.Request(url, callback=self.parse_page if url in html else self.noop)

        def parse_page(self, response: Response) -> None:
            lxml.html.document_fromstring(response.body)

        def noop(self, response: Response) -> None:
            return None

    sys.modules["__main__"].MemoryMiddleware = MemoryMiddleware  # type: ignore[attr-defined]
    process = CrawlerProcess({
        "LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 32,
        "DOWNLOADER_MIDDLEWARES": {"__main__.MemoryMiddleware": 950},
    })  # fmt: skip
    process.crawl(FloorSpider)
    process.start()


def work_floor_child(replay: str, out: str, report: str) -> None:
    """Run in a subprocess: the engine floor plus the work an archive cannot skip, done the
    plain way (issue 19's "work floor"): every response's bytes written to a new file
    (temporary name, then rename); for a page one lxml parse, one SQLite row (URL, path,
    title) and one FTS5 trigram row of ``#artibody``'s text (or the page's), committed every
    100 articles in WAL mode; for an image a full Pillow decode of every frame and one SQLite
    row. Its CPU is counted after the imports, so the ratio favours the floor."""
    import resource
    import sqlite3
    from io import BytesIO

    import lxml.html
    import scrapy
    from PIL import Image, ImageSequence
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import Response

    answers: dict[str, bytes] = {}
    html: set[str] = set()
    root = Path(replay)
    for line in (root / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]:
        url, file, _status, ctype = line.split("\t")
        answers[url] = (root / file).read_bytes()
        if ctype.startswith("text/html"):
            html.add(url)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(target / "floor.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE pages (url TEXT PRIMARY KEY, path TEXT, title TEXT)")
    db.execute("CREATE TABLE images (url TEXT PRIMARY KEY, path TEXT)")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(text, tokenize='trigram')")
    db.execute("BEGIN")
    pending = [0]
    start = resource.getrusage(resource.RUSAGE_SELF)

    def write(url: str, body: bytes) -> str:
        name = hashlib.sha1(url.encode()).hexdigest()
        path = target / name
        tmp = target / f".{name}.tmp"
        tmp.write_bytes(body)
        os.replace(tmp, path)
        return name

    def commit(force: bool = False) -> None:
        pending[0] += 1
        if force or pending[0] >= 100:
            db.execute("COMMIT")
            db.execute("BEGIN")
            pending[0] = 0

    class MemoryMiddleware:
        def process_request(self, request: scrapy.Request) -> Response:
            return Response(request.url, body=answers[request.url], request=request)

    class WorkFloorSpider(scrapy.Spider):
        name = "work-floor"

        async def start(self) -> Any:
            for url in answers:
                if url.startswith(ROLL.split("?")[0]):
                    callback = self.noop
                elif url in html:
                    callback = self.page
                else:
                    callback = self.image
                yield scrapy.Request(url, callback=callback)

        def page(self, response: Response) -> None:
            path = write(response.url, response.body)
            doc = lxml.html.document_fromstring(response.body)
            title = doc.findtext(".//title") or ""
            body = doc.get_element_by_id("artibody", None)
            text = (body if body is not None else doc).text_content()
            db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?)", (response.url, path, title))
            db.execute("INSERT INTO fts (text) VALUES (?)", (text,))
            commit()

        def image(self, response: Response) -> None:
            path = write(response.url, response.body)
            with Image.open(BytesIO(response.body)) as im:
                for frame in ImageSequence.Iterator(im):
                    frame.load()
            db.execute("INSERT OR REPLACE INTO images VALUES (?, ?)", (response.url, path))

        def noop(self, response: Response) -> None:
            return None

    sys.modules["__main__"].MemoryMiddleware = MemoryMiddleware  # type: ignore[attr-defined]
    process = CrawlerProcess({
        "LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 32,
        "DOWNLOADER_MIDDLEWARES": {"__main__.MemoryMiddleware": 950},
    })  # fmt: skip
    process.crawl(WorkFloorSpider)
    process.start()
    commit(force=True)
    db.execute("COMMIT")
    db.close()
    end = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
    Path(report).write_text(json.dumps({"cpu_after_imports": cpu}), "utf-8")


def io_wrap(report: str, argv: list[str]) -> None:
    """Run ``newsspider`` in this process and, at exit, record its syscall counts from
    ``/proc/self/io`` (read and write calls) and its own CPU: cheap enough for every run."""
    import atexit
    import resource
    import runpy

    def dump() -> None:
        fields: dict[str, int] = {}
        try:
            for line in Path("/proc/self/io").read_text().splitlines():
                key, _, value = line.partition(":")
                fields[key.strip()] = int(value)
        except OSError:
            pass
        usage = resource.getrusage(resource.RUSAGE_SELF)
        fields["minflt"] = usage.ru_minflt
        fields["nvcsw"] = usage.ru_nvcsw
        fields["nivcsw"] = usage.ru_nivcsw
        Path(report).write_text(json.dumps(fields), "utf-8")

    atexit.register(dump)
    sys.argv = ["newsspider", *argv]
    runpy.run_module("newsspider.cli", run_name="__main__", alter_sys=True)


def strace_counts(cmd: list[str], work: Path, n: int) -> dict[str, float]:
    """Syscalls per article by name, from one extra run under ``strace -c -f`` (when strace
    is installed): which calls the crawl makes per article, not its time."""
    if not shutil.which("strace"):
        return {}
    out = work / "strace.txt"
    subprocess.run(["strace", "-c", "-f", "-o", str(out), *cmd], cwd=PROJECT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # fmt: skip
    counts: dict[str, float] = {}
    for line in out.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            try:
                counts[parts[-1]] = int(parts[3]) / n
            except ValueError:
                continue
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# --- running and measuring -------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float
    maxrss_mb: float
    code: int
    summary: dict[str, Any]


def run_child(cmd: list[str], log: Path, summary: Path | None = None) -> Run:
    """Run ``cmd`` to the end; its own CPU (user + system) and peak RSS from ``wait4``."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    data = json.loads(summary.read_text("utf-8")) if summary and summary.exists() else {}
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode,
               data)  # fmt: skip


def crawl_cmd(replay: Path, output: Path, pages: int, summary: Path,
              profile: Path | None = None, io: Path | None = None) -> list[str]:  # fmt: skip
    prefix = [sys.executable]
    if profile is not None:
        prefix += ["-m", "cProfile", "-o", str(profile), "-m", "newsspider.cli"]
    elif io is not None:
        prefix += [__file__, "--io-wrap", str(io), "--"]
    else:
        prefix += ["-m", "newsspider.cli"]
    return [*prefix, "crawl", "--replay", str(replay), "--pages", str(pages), "--images",
            "local", "--output", str(output), "--summary-json", str(summary)]  # fmt: skip


#: cProfile groups: (label, functions whose cumulative time is that group's), minus nested ones
_GROUPS = {
    "extraction": [("newsspider/pages/__init__.py", "extract")],
    # both pipelines' process_item (the post's name claimed, its bytes staged) and the index's
    # tick: the batch's commit and the posts finished after it (renamed, their rows written)
    "writing": [("newsspider/crawl/pipelines.py", "process_item"),
                ("newsspider/archive/index.py", "_tick")],
    "images": [("newsspider/crawl/images.py", "get_media_requests"),
               ("newsspider/crawl/images.py", "media_downloaded"),
               ("newsspider/crawl/images.py", "item_completed")],
}  # fmt: skip
#: the body transform's entry points (markup/body.py): called from extraction (the images a
#: body shows) or from writing (the post body, relinking), wherever the code puts them
_BODY = ("post_body", "render_bodies", "body_images", "images_in", "relink_images")
_BODY_FILE = "newsspider/markup/body.py"


def profile_split(path: Path) -> dict[str, float]:
    """Fractions of the profiled run's time per group; ``engine`` is the rest (Scrapy, Twisted,
    the spider's routing, start-up). The body transform's time is taken out of the group that
    called it (extraction or writing, told by each call's direct caller), counted once even
    when one body function calls another."""
    stats = pstats.Stats(str(path))
    table = stats.stats  # type: ignore[attr-defined]
    total = max(s[3] for s in table.values())
    cum: dict[tuple[str, str], float] = {}
    for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in table.items():
        for group in _GROUPS.values():
            for suffix, name in group:
                if file.endswith(suffix) and func == name:
                    cum[(suffix, name)] = cum.get((suffix, name), 0.0) + ct
    got = {g: sum(cum.get(k, 0.0) for k in keys) for g, keys in _GROUPS.items()}
    got["body"] = 0.0
    for (file, _line, func), (_cc, _nc, _tt, _ct, callers) in table.items():
        if not (file.endswith(_BODY_FILE) and func in _BODY):
            continue
        for (cfile, _cline, cfunc), caller in callers.items():
            if cfile.endswith(_BODY_FILE) and cfunc in _BODY:
                continue  # nested: already counted under the outer body function
            ct = caller[3]
            got["body"] += ct
            group = "extraction" if "newsspider/pages/" in cfile else "writing"
            got[group] -= ct
    got["engine"] = total - sum(got.values())
    return {g: max(0.0, v) / total for g, v in got.items()}


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def tree_digest(root: Path) -> tuple[str, int]:
    """A digest of every file's path and bytes under ``root``, its state folder (index,
    journal, run records: times and pids) left out; and how many files."""
    h = hashlib.sha256()
    count = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".newsspider/"):
            continue
        h.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        count += 1
    return h.hexdigest(), count


def measure(n: int, work: Path, reps: int, profile: bool, images: str = "photo") -> dict[str, Any]:
    replay = work / f"replay-{n}"
    t0 = time.perf_counter()
    built = build_replay(replay, n, images)
    print(f"\n== N = {n}: {built['articles']} articles, {built['images']} images, "
          f"{built['pages']} roll pages (built in {time.perf_counter() - t0:.1f} s; "
          f"{len(built['templates'])} page templates)", flush=True)  # fmt: skip
    for reason in built["skipped"]:
        print(f"   template left out: {reason}")
    floors: list[Run] = []
    works: list[Run] = []
    work_after_imports: list[float] = []
    firsts: list[Run] = []
    seconds: list[Run] = []
    io: dict[str, int] = {}
    digests: list[tuple[str, int]] = []
    for rep in range(reps):
        floors.append(run_child([sys.executable, __file__, "--floor-child", str(replay)],
                                work / "floor.log"))  # fmt: skip
        wout = work / f"work-floor-{n}"
        shutil.rmtree(wout, ignore_errors=True)
        works.append(
            run_child(
                [
                    sys.executable,
                    __file__,
                    "--work-floor-child",
                    str(replay),
                    str(wout),
                    str(work / "work.json"),
                ],
                work / "work.log",
            )
        )
        work_after_imports.append(
            json.loads((work / "work.json").read_text("utf-8"))["cpu_after_imports"]
        )
        shutil.rmtree(wout, ignore_errors=True)
        out = work / f"out-{n}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = crawl_cmd(replay, out, built["pages"], work / "first.json", io=work / "io.json")
        firsts.append(run_child(cmd, work / "first.log", work / "first.json"))
        io = json.loads((work / "io.json").read_text("utf-8"))
        digests.append(tree_digest(out))
        cmd = crawl_cmd(replay, out, built["pages"], work / "second.json")
        seconds.append(run_child(cmd, work / "second.log", work / "second.json"))
        f, a, b = floors[-1], firsts[-1], seconds[-1]
        print(f"   rep {rep + 1}: work floor {works[-1].wall:.1f} s wall / {works[-1].cpu:.1f} s "
              f"CPU ({work_after_imports[-1]:.1f} s after imports)")  # fmt: skip
        print(f"   rep {rep + 1}: floor {f.wall:.1f} s wall / {f.cpu:.1f} s CPU; newsspider "
              f"{a.wall:.1f} s / {a.cpu:.1f} s CPU (exit {a.code}); incremental {b.wall:.2f} s / "
              f"{b.cpu:.2f} s CPU (exit {b.code})", flush=True)  # fmt: skip
    first, second = firsts[-1].summary, seconds[-1].summary
    counts, stats = first.get("counts", {}), first.get("stats", {})
    images = int(stats.get("images/downloaded", 0))
    wall, cpu = med([r.wall for r in firsts]), med([r.cpu for r in firsts])
    fcpu, fwall = med([r.cpu for r in floors]), med([r.wall for r in floors])
    result = {
        "n": n, "archived": counts.get("archived", 0), "failed": counts.get("failed", 0),
        "images": images, "wall": wall, "cpu": cpu, "floor_cpu": fcpu, "floor_wall": fwall,
        "rss": max(r.maxrss_mb for r in firsts), "floor_rss": max(r.maxrss_mb for r in floors),
        "second_wall": med([r.wall for r in seconds]), "second_cpu": med([r.cpu for r in seconds]),
        "second_rss": max(r.maxrss_mb for r in seconds), "second": second,
    }  # fmt: skip
    print(f"   first run:  {n / wall:7.1f} articles/s, {images / wall:7.1f} images/s "
          f"({counts.get('archived', 0)} archived, {counts.get('failed', 0)} failed, "
          f"{images} images stored); wall {wall:.2f} s, CPU {cpu:.2f} s = "
          f"{1000 * cpu / n:.2f} ms/article; peak RSS {result['rss']:.0f} MB")  # fmt: skip
    print(f"   floor:      {n / fwall:7.1f} articles/s; CPU {fcpu:.2f} s = "
          f"{1000 * fcpu / n:.2f} ms/article; peak RSS {result['floor_rss']:.0f} MB; "
          f"newsspider / floor CPU = {cpu / fcpu:.2f}")  # fmt: skip
    wcpu, wwall = med([r.cpu for r in works]), med([r.wall for r in works])
    wcpu_after = med(work_after_imports)
    result.update({"work_cpu": wcpu, "work_cpu_after_imports": wcpu_after, "work_wall": wwall,
                   "work_rss": max(r.maxrss_mb for r in works)})  # fmt: skip
    print(f"   work floor: {n / wwall:7.1f} articles/s; CPU {wcpu:.2f} s whole process, "
          f"{wcpu_after:.2f} s after imports = {1000 * wcpu_after / n:.2f} ms/article; peak RSS "
          f"{result['work_rss']:.0f} MB; newsspider / work floor CPU = {cpu / wcpu_after:.2f} "
          f"(after imports; {cpu / wcpu:.2f} whole process to whole process)")  # fmt: skip
    if io:
        print(f"   I/O per article (/proc/self/io of the median run's last rep): read calls "
              f"{io.get('syscr', 0) / n:.1f}, write calls {io.get('syscw', 0) / n:.1f}, "
              f"bytes written {io.get('wchar', 0) / n / 1024:.1f} KB, voluntary switches "
              f"{io.get('nvcsw', 0) / n:.1f}")  # fmt: skip
    same = len(set(digests)) == 1
    print(f"   archives of the {len(digests)} first runs (posts and images, {digests[0][1]} "
          f"files): {'byte-identical' if same else 'DIFFERENT'}")  # fmt: skip
    result["identical"] = same
    sc = second.get("counts", {})
    sstats = second.get("stats", {})
    print(f"   second run: wall {result['second_wall']:.2f} s, CPU {result['second_cpu']:.2f} s "
          f"= {100 * result['second_cpu'] / cpu:.1f}% of the first run's; pages read "
          f"{sc.get('pages')}, articles requested {sc.get('requested')}, replay hits "
          f"{sstats.get('replay/hits')} (requests "
          f"{sstats.get('downloader/request_count')}), images downloaded "
          f"{sstats.get('images/downloaded', 0)}; peak RSS "
          f"{result['second_rss']:.0f} MB")  # fmt: skip
    if profile:
        out = work / f"out-{n}-profile"
        shutil.rmtree(out, ignore_errors=True)
        prof = work / f"crawl-{n}.prof"
        run_child(crawl_cmd(replay, out, built["pages"], work / "prof.json", prof),
                  work / "prof.log")  # fmt: skip
        split = profile_split(prof)
        result["split"] = {g: cpu * f / n * 1000 for g, f in split.items()}
        strace_out = work / f"out-{n}-strace"
        shutil.rmtree(strace_out, ignore_errors=True)
        calls = strace_counts(crawl_cmd(replay, strace_out, built["pages"],
                                        work / "strace.json"), work, n)  # fmt: skip
        if calls:
            result["syscalls"] = calls
            print("   syscalls per article (strace -c -f, one extra run): " + ", ".join(
                f"{name} {per:.1f}" for name, per in list(calls.items())[:12]))  # fmt: skip
        print("   CPU per article (ms, cProfile fractions of the median CPU): " + ", ".join(
            f"{g} {result['split'][g]:.2f}"
            for g in ("engine", "extraction", "body", "writing", "images")))  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="articles (default 2000)")
    parser.add_argument("--sizes", help="several N, comma separated (e.g. 500,2000,10000)")
    parser.add_argument("--reps", type=int, default=3, help="alternating runs (default 3)")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument(
        "--images",
        choices=sorted(IMAGE_SIZES),
        default="photo",
        help="image sizes: photo (300-640 px wide, default) or small (64x48)",
    )
    parser.add_argument("--workdir", help="keep the replay and outputs here (default: a temp dir)")
    parser.add_argument("--floor-child", help=argparse.SUPPRESS)
    parser.add_argument("--work-floor-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--io-wrap", help=argparse.SUPPRESS)
    if "--io-wrap" in sys.argv[1:3]:
        sep = sys.argv.index("--")
        io_wrap(sys.argv[2], sys.argv[sep + 1 :])
        return
    args = parser.parse_args()
    if args.work_floor_child:
        work_floor_child(*args.work_floor_child)
        return
    if args.floor_child:
        floor_child(args.floor_child)
        return
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.n]
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="nsbench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {os.cpu_count()} CPUs, {_cpu_model()}; Python {sys.version.split()[0]}; "
        f"images: {args.images}; load average at the start {os.getloadavg()[0]:.2f}"
    )
    results = [measure(n, work, args.reps, not args.no_profile, args.images) for n in sizes]
    if len(results) > 1:
        base = results[0]["cpu"] / results[0]["n"]
        print("\nscaling (CPU per article, whole process):")
        for r in results:
            print(f"   N = {r['n']:6d}: {1000 * r['cpu'] / r['n']:.2f} ms/article "
                  f"({r['cpu'] / r['n'] / base:.2f}x N = {results[0]['n']}), "
                  f"peak RSS {r['rss']:.0f} MB")  # fmt: skip
    print("\nissue 19's targets (this run, this machine):")
    for r in results:
        wall_rate = r["n"] / r["wall"]
        ratio = r["cpu"] / r["work_cpu_after_imports"]
        second = r["second_cpu"] / r["cpu"]
        print(f"   N = {r['n']:6d}: {wall_rate:6.1f} articles/s (target >= 150: "
              f"{'met' if wall_rate >= 150 else 'NOT met'}; the engine floor alone runs "
              f"{r['n'] / r['floor_wall']:.0f}/s); CPU {ratio:.2f}x the work floor (target <= 1.0: "
              f"{'met' if ratio <= 1.0 else 'NOT met'}); second run {100 * second:.1f}% of the "
              f"first (target < 10%: {'met' if second < 0.10 else 'NOT met'}); peak RSS "
              f"{r['rss']:.0f} MB; archives "
              f"{'identical' if r['identical'] else 'DIFFERENT'}")  # fmt: skip
    if len(results) > 1:
        small, large = results[0], results[-1]
        growth = (large["cpu"] / large["n"]) / (small["cpu"] / small["n"])
        print(f"   per-article CPU at N = {large['n']} is {growth:.2f}x N = {small['n']}'s "
              f"(target <= 1.25: {'met' if growth <= 1.25 else 'NOT met'})")  # fmt: skip
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
