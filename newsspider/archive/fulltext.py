"""Full-text search over the archive index, and the fields the index derives from a post file.

The index keeps, beside each article's row, what export and search need without opening the
posts: the head image and body HTML as the post holds them (braces unescaped) and the body's plain
text. They are *derived*: a pure function of the post's bytes (which ``content_hash`` pins), so
they are not written to the journal; ``index check --repair`` recomputes them from disk.

Search is an SQLite FTS5 table with the ``trigram`` tokenizer (SQLite 3.34 or later): any
substring of three or more characters matches, which suits Chinese text that has no spaces to
split words on. Shorter terms cannot be looked up in a trigram index, so a query term of one or
two characters falls back to ``LIKE`` over the rows (a scan: slower, still correct).

Triggers keep the FTS table in step with ``articles`` whoever writes it, in two steps: in the
statement that writes a row they only note the rowids it touched in ``fts_pending`` (cheap, and
committed with the row, so a crash loses nothing); :func:`flush_pending` later re-indexes the
noted rowids in one transaction (every ``FLUSH_EVERY`` writes of an :class:`Index`, at its close,
when an index is opened, and before a search), which is much cheaper than an FTS update and
commit per article. Every step is idempotent (a delete of an absent rowid, an insert-or-ignore of
a rowid), so it stays right whether a row is replaced, upserted, updated or deleted, and whatever
``recursive_triggers`` says. The FTS table holds its own copy of title and text (an
external-content table would be corrupted by a double delete). It is keyed by the article's
rowid, which ``VACUUM`` may renumber: ``index check`` reports FTS rows that disagree with
``articles`` (rows still pending are not a problem), ``--repair`` rebuilds.

Nothing here imports Scrapy: ``newsspider search`` must start fast.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

BEIJING = timezone(timedelta(hours=8))
#: trigram tokenizer: the shortest term the FTS index can answer
MIN_TERM = 3

FTS_SCHEMA = """
CREATE INDEX IF NOT EXISTS articles_ts ON articles(ts);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(title, text, tokenize='trigram');
CREATE TABLE IF NOT EXISTS fts_pending (rid INTEGER PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS articles_fts_bi BEFORE INSERT ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending(rid)
        SELECT rowid FROM articles WHERE key = new.key OR path = new.path;
END;
CREATE TRIGGER IF NOT EXISTS articles_fts_ai AFTER INSERT ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending(rid) VALUES (new.rowid);
END;
CREATE TRIGGER IF NOT EXISTS articles_fts_ad AFTER DELETE ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending(rid) VALUES (old.rowid);
END;
CREATE TRIGGER IF NOT EXISTS articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending(rid) VALUES (old.rowid);
    INSERT OR IGNORE INTO fts_pending(rid) VALUES (new.rowid);
END;
"""
#: the triggers' names: an index written before ``fts_pending`` has them updating the FTS table
#: directly, and gets them replaced on open
FTS_TRIGGERS = ("articles_fts_bi", "articles_fts_ai", "articles_fts_ad", "articles_fts_au")
#: an :class:`~newsspider.archive.index.Index` flushes the pending rows after this many writes
FLUSH_EVERY = 100


def flush_pending(db: sqlite3.Connection) -> int:
    """Bring the FTS rows of every pending rowid in step with ``articles``; how many there were.

    One transaction (or part of the caller's, if one is open): the FTS rows of the pending
    rowids are dropped, those still in ``articles`` indexed again, the marks cleared.
    """
    if not db.execute("SELECT 1 FROM fts_pending LIMIT 1").fetchone():
        return 0
    own = not db.in_transaction
    if own:
        db.execute("BEGIN IMMEDIATE")
    try:
        n = db.execute("SELECT count(*) FROM fts_pending").fetchone()[0]
        db.execute("DELETE FROM articles_fts WHERE rowid IN (SELECT rid FROM fts_pending)")
        db.execute(
            "INSERT OR REPLACE INTO articles_fts(rowid, title, text) SELECT rowid, title, text "
            "FROM articles WHERE rowid IN (SELECT rid FROM fts_pending)"
        )
        db.execute("DELETE FROM fts_pending")
        if own:
            db.execute("COMMIT")
    except BaseException:
        if own and db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return n


def _has_pending(db: sqlite3.Connection) -> bool:
    try:
        return db.execute("SELECT 1 FROM fts_pending LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # an index from before the pending table
        return False


#: the articles that have a post to show (not a reserved path, not a failure without a post)
LISTED_STATUSES = ("archived", "imported", "gone", "stale")

_FRONT_END = "\n---\n\n"
_HEADIMG = re.compile(r"^headimg: '((?:[^']|'')*)'$", re.MULTILINE)
#: what :func:`newsspider.archive.post.render` puts around the body, and after the post
_DIV_OPEN, _DIV_CLOSE, _TAIL = "<div>   \n", "  \n</div>", "\n            "


def unescape_braces(text: str) -> str:
    return text.replace("&#123;", "{").replace("&#125;", "}")


def post_parts(text: str) -> tuple[str, str]:
    """``(headimg, body HTML)`` of a post in the archive format, braces unescaped.

    The body is what :func:`~newsspider.archive.post.render` wrapped in ``<div>``: exact for a
    post this project wrote; for an imported or hand-edited one, the segment after the front
    matter with the wrapper removed as well as it can be.
    """
    end = text.find(_FRONT_END)
    if end < 0:
        return "", ""
    head, body = text[:end], text[end + len(_FRONT_END) :]
    m = _HEADIMG.search(head)
    headimg = unescape_braces(m.group(1)).replace("''", "'") if m else ""
    body = unescape_braces(body)
    if body.endswith(_TAIL):
        body = body[: -len(_TAIL)]
    if body.startswith(_DIV_OPEN) and body.endswith(_DIV_CLOSE):
        body = body[len(_DIV_OPEN) : -len(_DIV_CLOSE)]
    else:
        wrapped = re.fullmatch(r"\s*<div>[ \t]*\n?(.*?)[ \t]*\n?</div>\s*", body, re.DOTALL)
        body = wrapped.group(1) if wrapped else body.strip()
    return headimg, body


_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


_ATTRS = r"""(?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))?)*"""
#: markup of the plain shapes the archive's bodies are made of, for which :class:`HTMLParser`
#: does nothing but call the handlers: a script or style element without ``<`` inside (groups 1
#: and 2: the names at its start and end), a start tag (name, then attributes each with a quoted
#: value free of ``<`` and ``>``, or none; groups 3 and 4: its name, "/" if self-closing), an end
#: tag (group 5: its name), or a comment without ``--`` inside, not starting with ``>`` or ``->``
#: (no group; every Python version's parser ends it at the first ``-->``)
_PLAIN_TAG = re.compile(
    rf"<(?:((?i:script|style)){_ATTRS}\s*>[^<]*</((?i:script|style))\s*"
    rf"|([a-zA-Z][a-zA-Z0-9]*){_ATTRS}\s*(/?)"
    r"|/([a-zA-Z][a-zA-Z0-9]*)\s*"
    r"|!--(?![->])(?:[^-]|-(?!-))*--)>"
)
_CDATA = frozenset({"script", "style"})


def _plain_parts(body: str) -> list[str] | None:
    """What :class:`_TextParser` collects from ``body``, when every ``<`` in it opens markup of
    :data:`_PLAIN_TAG`'s shapes; otherwise ``None``.

    Between such tags :class:`HTMLParser` (``convert_charrefs``) hands over the text as
    :func:`html.unescape` gives it, chunk by chunk; this does the same in a fraction of the time.
    """
    pieces = _PLAIN_TAG.split(body)  # text, then the 5 groups of a match, text, ...
    parts: list[str] = []
    skip = 0
    for i in range(0, len(pieces), 6):
        chunk = pieces[i]
        if chunk and not skip:
            if "<" in chunk:
                return None
            parts.append(unescape(chunk) if "&" in chunk else chunk)
        elif chunk and "<" in chunk:
            return None
        if i + 1 >= len(pieces):
            break
        cdata, cdata_end, start, close, end = pieces[i + 1 : i + 6]
        if start:
            tag = start.lower()
            if tag in _SKIP_TAGS:
                if tag in _CDATA and not close:  # its content is not markup: not handled here
                    return None
                if not close:
                    skip += 1
            elif tag in _BLOCK_TAGS:
                parts.append("\n")
        elif end:
            tag = end.lower()
            if tag in _SKIP_TAGS:
                skip = max(0, skip - 1)
            elif tag in _BLOCK_TAGS:
                parts.append("\n")
        elif cdata and cdata.lower() != cdata_end.lower():
            return None  # <style>…</script>: the element goes on
    return parts


def _parser_parts(body: str) -> list[str]:
    parser = _TextParser()
    parser.feed(body)
    parser.close()
    return parser.parts


def html_text(body: str) -> str:
    """The body's plain text: one line per block, whitespace runs collapsed, blank lines gone.

    Block boundaries become line breaks so that a phrase never matches across two paragraphs
    and snippets read like the article.
    """
    parts = _plain_parts(body)
    if parts is None:
        parts = _parser_parts(body)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def derived_fields(data: bytes | str) -> dict[str, str]:
    """``headimg``, ``body`` and ``text`` of a post's bytes, as the index stores them."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    headimg, body = post_parts(text)
    return {"headimg": headimg, "body": body, "text": html_text(body)}


def timestamp(published: str, date: str) -> int | None:
    """Unix seconds of an article's publication (the ISO ``published``, else the front matter
    ``date``: RFC 1123 as this project writes it, or ``2021-08-07 05:06:37`` as some imported
    posts have it, read as Beijing time), for ordering and ``--since``; ``None`` if unreadable."""
    for value in (published, date):
        if not value:
            continue
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                continue
        return int((when if when.tzinfo else when.replace(tzinfo=BEIJING)).timestamp())
    return None


def iso_beijing(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, BEIJING).isoformat() if ts is not None else ""


def fts_problems(db: sqlite3.Connection) -> list[str]:
    """Keys whose FTS entry disagrees with their row, and FTS rows no article holds (what
    ``index check`` reports; a rebuild by ``--repair`` puts them right)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone():
        return []  # an index from before full-text search: the next open builds it
    # rows noted in fts_pending (a crawl still running, or killed before its flush) are indexed
    # by the next open or search: not a problem
    pending = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'fts_pending'").fetchone()
    skip = " AND {0}.rowid NOT IN (SELECT rid FROM fts_pending)" if pending else ""
    bad = [
        row[0]
        for row in db.execute(
            "SELECT a.key FROM articles a LEFT JOIN articles_fts f ON f.rowid = a.rowid "
            "WHERE (f.rowid IS NULL OR f.title IS NOT a.title OR f.text IS NOT a.text)"
            + skip.format("a")
        )
    ]
    stray = db.execute(
        "SELECT count(*) FROM articles_fts f WHERE NOT EXISTS "
        "(SELECT 1 FROM articles a WHERE a.rowid = f.rowid)" + skip.format("f")
    ).fetchone()[0]
    return bad + ([f"<index>: {stray} full-text row(s) without an article"] if stray else [])


# --- searching ---


@dataclass(frozen=True)
class Hit:
    """One matching article; ``title`` and ``snippet`` carry the highlight markers."""

    key: str
    path: str
    ts: int | None
    title: str
    snippet: str


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _mark(text: str, terms: Sequence[str], open_: str, close: str) -> str:
    if not terms:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
                         re.IGNORECASE)  # fmt: skip
    return pattern.sub(lambda m: open_ + m.group() + close, text)


def _window(text: str, terms: Sequence[str], width: int) -> str:
    """A stretch of ``text`` around the first term found (LIKE fallback's ``snippet()``)."""
    low = text.lower()
    found = [i for i in (low.find(t.lower()) for t in terms) if i >= 0]
    start = max(0, min(found) - width // 2) if found else 0
    piece = text[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


def search(
    db: sqlite3.Connection,
    query: str,
    *,
    channel: str | None = None,
    since: int | None = None,
    limit: int = 20,
    mark: tuple[str, str] = ("[", "]"),
    width: int = 32,
) -> tuple[list[Hit], int]:
    """Articles whose title or text contains every whitespace-separated term of ``query``,
    newest first, and how many match in all.

    Terms of three characters or more go through the trigram index; shorter ones are checked
    with ``LIKE`` (alone, they make the query a scan of the table).
    """
    terms = query.split()
    if not terms:
        return [], 0
    if _has_pending(db):  # rows written since the last flush: index them first
        # a read-only connection cannot: connect_readonly caught up before opening it
        with contextlib.suppress(sqlite3.OperationalError):
            flush_pending(db)
    long_terms = [t for t in terms if len(t) >= MIN_TERM]
    short = [t for t in terms if len(t) < MIN_TERM]
    where = ["a.path IS NOT NULL",
             f"a.status IN ({', '.join('?' * len(LISTED_STATUSES))})"]  # fmt: skip
    params: list[object] = list(LISTED_STATUSES)
    if channel:
        where.append("a.channel = ?")
        params.append(channel)
    if since is not None:
        where.append("a.ts >= ?")
        params.append(since)
    for term in short:
        where.append("(a.title LIKE ? ESCAPE '\\' OR a.text LIKE ? ESCAPE '\\')")
        params += [_like(term), _like(term)]
    open_, close = mark
    order = "ORDER BY a.ts IS NULL, a.ts DESC, a.key"
    if long_terms:
        match = " AND ".join(_phrase(t) for t in long_terms)
        base = ("FROM articles_fts f JOIN articles a ON a.rowid = f.rowid "
                f"WHERE articles_fts MATCH ? AND {' AND '.join(where)}")  # fmt: skip
        args = [match, *params]
        total = db.execute(f"SELECT count(*) {base}", args).fetchone()[0]
        # pick the page first, then build snippets for those rows only: snippet() over every
        # match of a common term would cost more than the search itself
        rows = db.execute(
            f"WITH page AS (SELECT a.rowid AS rid {base} {order} LIMIT ?) "
            "SELECT a.key, a.path, a.ts, highlight(articles_fts, 0, ?, ?) AS title, "
            "snippet(articles_fts, 1, ?, ?, '…', ?) AS snippet, a.text AS text "
            "FROM articles_fts f JOIN articles a ON a.rowid = f.rowid "
            f"WHERE articles_fts MATCH ? AND f.rowid IN (SELECT rid FROM page) {order}",
            [*args, limit, open_, close, open_, close, min(64, width), match],
        ).fetchall()
        hits = []
        for key, path, ts, title, snippet, text in rows:
            if short:
                title = _mark(title, short, open_, close)
                snippet = _mark(snippet, short, open_, close)
            if not snippet and text:
                snippet = _window(text, terms, width)
            hits.append(Hit(key, path, ts, title, snippet.replace("\n", " ")))
        return hits, total
    base = f"FROM articles a WHERE {' AND '.join(where)}"
    total = db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
    rows = db.execute(f"SELECT a.key, a.path, a.ts, a.title, a.text {base} {order} LIMIT ?",
                      [*params, limit]).fetchall()  # fmt: skip
    hits = [
        Hit(key, path, ts, _mark(title, terms, open_, close),
            _mark(_window(text, terms, width), terms, open_, close).replace("\n", " "))
        for key, path, ts, title, text in rows
    ]  # fmt: skip
    return hits, total


def connect_readonly(output: Path) -> sqlite3.Connection:
    """The index of ``output`` opened read-only (a search writes nothing else), after the rows
    written since the last flush are indexed, upgraded first when an older index has no
    full-text table yet."""
    db_path = Path(output) / ".newsspider" / "index.sqlite3"
    if not db_path.is_file():
        raise FileNotFoundError(f"{output}: no archive index ({db_path} does not exist)")
    from newsspider.archive.index import damaged, file_problem  # (index imports this module)

    problem = file_problem(db_path)
    if problem:  # garbage or a cut file: one line naming the repair, not SQLite's error
        raise damaged(db_path, problem)
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone():
        if not _has_pending(db):
            return db
        try:  # a crawl wrote since its last flush, or was killed before it: catch up
            rw = sqlite3.connect(db_path, timeout=30, isolation_level=None)
            try:
                flush_pending(rw)
            finally:
                rw.close()
        except sqlite3.OperationalError:  # a read-only archive: search what is indexed
            pass
        return db
    db.close()
    from newsspider.archive.index import Index

    Index(Path(output)).close()  # adds the columns and the full-text table
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
