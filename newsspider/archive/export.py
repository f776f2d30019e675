"""The archive as JSON Lines: one object per archived article, read from the index alone.

Everything comes from the index (the derived columns hold the body as the post has it), so an
export of a large archive opens no post file and needs no crawl machinery. Order is
deterministic (publication time, then key) so that two exports of the same archive are the same
bytes and diff well.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from newsspider.archive.fts import iso_beijing
from newsspider.archive.fulltext import LISTED_STATUSES, connect_readonly

#: the keys of every exported object, in this order
FIELDS = (
    "key", "url", "doc_id", "channel", "categories", "title", "date", "published", "source",
    "editor", "keywords", "path", "headimg", "images", "local_images", "status", "body_html",
    "text",
)  # fmt: skip


def _record(row: sqlite3.Row) -> dict[str, Any]:
    path = row["path"]
    return {
        "key": row["key"],
        "url": row["url"],
        "doc_id": row["doc_id"],
        "channel": row["channel"],
        # the folders the post sits in are its categories (FORMAT.md), imported posts included
        "categories": path.split("/")[1:-1],
        "title": row["title"],
        # the front matter date (RFC 1123, GMT) exactly as the post has it
        "date": row["date"],
        # ISO 8601 with the page's offset (+08:00); imported posts: the date in Beijing time
        "published": row["published"] or iso_beijing(row["ts"]),
        "source": row["source"],
        "editor": row["editor"],
        "keywords": json.loads(row["keywords"]),
        "path": path,
        "headimg": row["headimg"],
        # remote URLs in body order, and those downloaded: URL -> path under the output folder
        "images": json.loads(row["images"]),
        "local_images": json.loads(row["local_images"]),
        "status": row["status"],
        "body_html": row["body"],
        "text": row["text"],
    }


def export_records(
    output: Path, *, since: int | None = None, channel: str | None = None
) -> Iterator[dict[str, Any]]:
    """The export objects of ``output``'s archive: articles that have a post (archived,
    imported, gone from Sina but kept, or awaiting a re-fetch), oldest first."""
    db = connect_readonly(output)
    db.row_factory = sqlite3.Row
    where = ["path IS NOT NULL", f"status IN ({', '.join('?' * len(LISTED_STATUSES))})"]
    params: list[object] = list(LISTED_STATUSES)
    if channel:
        where.append("channel = ?")
        params.append(channel)
    if since is not None:
        where.append("ts >= ?")
        params.append(since)
    try:
        query = f"SELECT * FROM articles WHERE {' AND '.join(where)} ORDER BY ts IS NULL, ts, key"
        for row in db.execute(query, params):
            yield _record(row)
    finally:
        db.close()


def write_jsonl(records: Iterable[dict[str, Any]], fh: IO[str]) -> int:
    """One compact JSON object a line, UTF-8 text kept readable; returns the count."""
    n = 0
    for rec in records:
        fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        n += 1
    return n
