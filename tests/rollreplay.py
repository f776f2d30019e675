"""Build replay directories (REPLAY.md) of roll API pages and the articles they list.

No verbatim roll answer was ever saved, so tests write them in the documented shape
(``docs/sina-pages.md`` §5.1, ``corpus/api/roll-155-1686-constructed.json``) pointing at real
article pages: the golden cases, the corpus pages, and synthetic variants of the seed page
(same markup, another doc id, title and date) where a test needs many distinct articles.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from newsspider.archive.channels import load_channels
from newsspider.markup.urls import canonical_article_url

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
GOLDEN = FIXTURES / "golden"
CORPUS_HTML = FIXTURES / "corpus" / "html"
SHARED_CORPUS_HTML = Path("/work/shared/corpus/html")
BEIJING = timezone(timedelta(hours=8))
HTML = "text/html; charset=utf-8"

SEED = GOLDEN / "seed-digital-governance"
SEED_DOCID = "kyamrmy6387093"
SEED_TITLE = "上海市委市政府召开治理数字化转型现场推进会，李强书记提到这个新蓝图"
SEED_CREATE_AT = "2021-12-02 21:15:52"
#: a phrase of the seed's body, for tests that change an article's text
SEED_BODY_PHRASE = "继今年5月"


@dataclass(frozen=True)
class Golden:
    name: str
    url: str
    expected_path: str
    html: bytes
    expected: bytes
    docid: str


def golden_cases() -> list[Golden]:
    out = []
    for d in sorted(GOLDEN.iterdir()):
        meta = json.loads((d / "case.json").read_text("utf-8"))
        docid = meta["url"].rsplit("doc-i", 1)[1].split(".")[0]
        out.append(Golden(d.name, meta["url"], meta["expected_path"],
                          (d / "article.html").read_bytes(), (d / "expected.md").read_bytes(),
                          docid))  # fmt: skip
    return out


def corpus_pages() -> list[tuple[str, str, bytes]]:
    """``(filename, canonical URL, bytes)`` of every corpus page (fixtures copy preferred)."""
    folder = CORPUS_HTML if (CORPUS_HTML / "MANIFEST.tsv").exists() else SHARED_CORPUS_HTML
    rows = csv.DictReader((folder / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t")
    out = []
    for row in rows:
        url = canonical_article_url(row["original_url"].split(" ", 1)[0])
        out.append((row["filename"], url, (folder / row["filename"]).read_bytes()))
    return out


def unix(when: str) -> int:
    """``2021-12-02 21:15:52`` (Beijing) -> unix seconds."""
    return int(datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).timestamp())


def roll_item(url: str, title: str, ctime: int, mtime: int | None = None, **extra: Any) -> dict:
    """One ``data[]`` entry as the API writes it: http:// URL, times as strings, ``img: []``."""
    docid = url.rsplit("doc-i", 1)[1].split(".")[0] if "doc-i" in url else ""
    item = {
        "url": url.replace("https://", "http://", 1),
        "wapurl": "",
        "title": title[:20] + "...",
        "intro": "",
        "keywords": "",
        "media_name": "新浪财经综合",
        "author": "",
        "ctime": str(ctime),
        "intime": str(ctime + 7),
        "mtime": str(mtime if mtime is not None else ctime + 300),
        "lids": "1686,2509",
        "docid": f"comos:{docid}" if docid else "",
        "img": [],
        "images": [],
    }
    item.update(extra)
    return item


def roll_body(items: list[Any], *, total: int | None = None, code: int = 0) -> bytes:
    data = {
        "result": {
            "status": {"code": code, "msg": "succ" if code == 0 else "fail"},
            "timestamp": "Sat Nov 28 22:00:00 +0800 2026",
            "total": len(items) if total is None else total,
            "lid": "1686",
            "data": items,
        }
    }
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


def synthetic_article(n: int, *, when: int) -> tuple[str, str, str, bytes]:
    """The seed page as another article: ``(url, doc id, title, html)``."""
    docid = f"zzsyn{n:06d}"
    title = f"合成测试文章第{n}号：数字化转型推进会"
    created = datetime.fromtimestamp(when, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    html = SEED.joinpath("article.html").read_text("utf-8")
    html = html.replace(SEED_DOCID, docid).replace(SEED_TITLE, title)
    html = html.replace(SEED_CREATE_AT, created)
    url = f"https://finance.sina.com.cn/china/2023-01-01/doc-i{docid}.shtml"
    return url, docid, title, html.encode("utf-8")


class ReplayBuilder:
    """Rows and files of one replay directory; :meth:`write` puts the manifest on disk."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, tuple[str, int, str]] = {}
        self._n = 0

    def add(self, url: str, body: bytes | None, *, status: int = 200,
            content_type: str = HTML) -> None:  # fmt: skip
        """Answer ``url`` with ``body`` (``None``: a bodiless answer); replaces an earlier row."""
        name = ""
        if body is not None:
            self._n += 1
            name = f"f/{self._n:05d}.bin"
            (self.dir / "f").mkdir(exist_ok=True)
            (self.dir / name).write_bytes(body)
        self.rows[url] = (name, status, content_type)

    def remove(self, url: str) -> None:
        self.rows.pop(url, None)

    def add_roll(self, channel: str, page: int, body: bytes, *, status: int = 200,
                 content_type: str = "application/json; charset=utf-8") -> str:  # fmt: skip
        url = load_channels()[channel].roll_url(page)
        self.add(url, body, status=status, content_type=content_type)
        return url

    def write(self) -> Path:
        lines = ["url\tfile\tstatus\tcontent_type"]
        lines += [f"{u}\t{f}\t{s}\t{c}" for u, (f, s, c) in self.rows.items()]
        (self.dir / "MANIFEST.tsv").write_text("\n".join(lines) + "\n", "utf-8")
        return self.dir
