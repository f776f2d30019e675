"""Hostile roll API answers through real replayed channel crawls.

Two crawls: one channel whose list mixes broken items (wrong types, huge numbers, missing
fields, duplicates, foreign hosts, script URLs) with good ones, each bad item skipped with a
``roll/bad_item/<stat>`` stat and a log line; and one crawl of several channels whose whole
answers are unusable, each one a ``failed:`` line, beside a channel that archives normally.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostilekit import LEDGER, Crawl, article, check_all, run
from rollreplay import ReplayBuilder, roll_body, roll_item

GROUP = "feeds"
T = 1672545600
GOOD = "https://finance.sina.com.cn/china/2023-01-01/doc-izzsyn000500.shtml"
HUGE = "1" + "0" * 40

#: (label, raw item, stat it is skipped under); the raw JSON text of non-JSON-able values
#: (Infinity, 1e400) is patched in after dumping
BAD_ITEMS: list[tuple[str, Any, str]] = [
    ("item is a string", "https://finance.sina.com.cn/x/doc-iaaaa.shtml", "not_object"),
    ("item is a number", 42, "not_object"),
    ("item is null", None, "not_object"),
    ("item is a list", [GOOD], "not_object"),
    ("url is a number", {"url": 12345, "title": "t"}, "bad_type"),
    ("url is a list", {"url": [GOOD], "title": "t"}, "bad_type"),
    ("url is an object", {"url": {"href": GOOD}}, "bad_type"),
    ("url missing", {"title": "no url", "ctime": str(T)}, "no_url"),
    ("url empty", {"url": "", "ctime": str(T)}, "no_url"),
    ("ctime not a number", {"url": GOOD.replace("500", "501"), "ctime": "yesterday"}, "bad_type"),
    ("ctime a huge number", {"url": GOOD.replace("500", "502"), "ctime": "__HUGE__"}, "bad_type"),
    ("ctime Infinity", {"url": GOOD.replace("500", "503"), "ctime": "__INF__"}, "bad_type"),
    ("ctime 1e400", {"url": GOOD.replace("500", "504"), "ctime": "__E400__"}, "bad_type"),
    ("mtime negative", {"url": GOOD.replace("500", "505"), "mtime": -5}, "bad_type"),
    ("ctime 40-digit string", {"url": GOOD.replace("500", "506"), "ctime": HUGE}, "bad_type"),
    ("foreign host", {"url": "https://evil.example.com/doc-ievil1.shtml"}, "foreign_host"),
    ("Sina name as a subdomain", {"url": "https://finance.sina.com.cn.evil.example/d.shtml"},
     "foreign_host"),
    ("Sina name as userinfo", {"url": "https://finance.sina.com.cn@evil.example/d.shtml"},
     "foreign_host"),
    ("protocol-relative foreign", {"url": "//evil.example/doc-ievil2.shtml"}, "foreign_host"),
    ("look-alike host (Cyrillic і)", {"url": "https://finance.s\u0456na.com.cn/doc-iev3.shtml"},
     "foreign_host"),
    ("loopback host", {"url": "http://127.0.0.1/doc-ievil4.shtml"}, "foreign_host"),
    ("suffix without a dot", {"url": "https://evilsina.com.cn/doc-ievil5.shtml"}, "foreign_host"),
    ("javascript: URL", {"url": "javascript:alert(1)"}, "bad_scheme"),
    ("JavaScript: with spaces", {"url": "  JavaScript:alert(1)"}, "bad_scheme"),
    ("vbscript: URL", {"url": "vbscript:msgbox(1)"}, "bad_scheme"),
    ("data: URL", {"url": "data:text/html,<script>alert(1)</script>"}, "bad_scheme"),
    ("file: URL", {"url": "file:///etc/passwd"}, "bad_scheme"),
    ("ftp: URL", {"url": "ftp://finance.sina.com.cn/doc-ix.shtml"}, "bad_scheme"),
]  # fmt: skip


def _items() -> tuple[bytes, list[str]]:
    """The hostile page 1: bad items, duplicates and good items, as raw JSON text."""
    good = [article(n)[0] for n in (500, 510, 511)]
    items: list[Any] = [roll_item(good[0], "good", T)]
    items += [raw for _, raw, _ in BAD_ITEMS]
    # duplicates: the same URL again, as https, with a query string and a fragment
    items += [roll_item(good[0], "dup", T), roll_item(good[0].replace("http:", "https:"), "d", T),
              {"url": good[0] + "?from=roll#top", "ctime": str(T)}]  # fmt: skip
    # missing optional fields: no ctime, mtime or title, wrong-typed title: still archived
    items += [{"url": good[1]}, {"url": good[2], "title": {"x": 1}, "docid": 7, "ctime": None}]
    text = json.dumps(json.loads(roll_body(items)), ensure_ascii=False)
    text = text.replace('"__INF__"', "Infinity").replace('"__E400__"', "1e400")
    text = text.replace('"__HUGE__"', "1" + "0" * 400)
    text = text.replace(f'"total": {len(items)}', f'"total": {HUGE}')
    assert HUGE in text and "Infinity" in text
    return text.encode(), good


@pytest.fixture(scope="module")
def items_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawl, list[str]]:
    watch = tmp_path_factory.getbasetemp()
    root = tmp_path_factory.mktemp("feeds-items")
    replay = ReplayBuilder(root / "replay")
    body, good = _items()
    for n in (500, 510, 511, 501, 502, 503, 504, 505, 506):
        url, _, _, page = article(n)
        replay.add(url, page)
    replay.add_roll("china", 1, body)
    replay.add_roll("china", 2, roll_body([]))
    replay.write()
    crawl = run("feed items", root, ["crawl", "--replay", str(replay.dir), "--images", "off"],
                watch=watch)  # fmt: skip
    return crawl, good


def test_bad_items_are_skipped_with_a_stat_and_good_ones_archived(
    items_crawl: tuple[Crawl, list[str]],
) -> None:
    crawl, _ = items_crawl
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr and "ERROR" not in crawl.stderr
    stats = crawl.summary["stats"]
    expected: dict[str, int] = {}
    for label, _, stat in BAD_ITEMS:
        expected[stat] = expected.get(stat, 0) + 1
        LEDGER.add(GROUP, label, f"skipped: roll item {stat}")
    got = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("roll/bad_item/")}
    assert got == expected
    assert crawl.stderr.count("skipped an item: ") == len(BAD_ITEMS)
    assert stats["crawl/skipped_duplicate"] == 3
    LEDGER.add(GROUP, "duplicate items (same, https, query, fragment)", "skipped: duplicate")
    LEDGER.add(GROUP, "missing ctime/mtime/title, wrong-typed title and docid", "archived")
    LEDGER.add(GROUP, "total of 41 digits", "archived")
    assert crawl.summary["counts"]["archived"] == 3
    assert crawl.summary["counts"]["requested"] == 3, "nothing but the 3 good URLs fetched"
    assert check_all(crawl.posts(), crawl.out) == {}


#: channel -> (label, raw answer, the reason its failure line starts with)
BROKEN: dict[str, tuple[str, bytes, str]] = {
    "china-macro": ("answer is an HTML error page", b"<html><body>502 Bad Gateway</body></html>",
                    "roll API: not JSON"),
    "china-finance": ("status code not 0", roll_body([], code=1), "roll API: result.status.code"),
    "china-local": ("data is an object", b'{"result":{"status":{"code":0},"data":{"0":1}}}',
                    "roll API: result.data is a dict"),
    "china-ministries": ("JSON nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000,
                         "roll API: JSON nested too deep"),
    "china-top10": ("result is a list", b'{"result":[1,2]}', "roll API: no 'result' object"),
    "roll": ("empty answer", b"", "roll API: empty answer"),
    "roll-stock": ("top level is a string", b'"result"', "roll API: no 'result' object"),
    "roll-usstock": ("not UTF-8 bytes", b"\xff\xfe\x00garbage{", "roll API: not JSON"),
    "roll-hkstock": ("HTTP 500", b"oops", "roll API: HTTP 500"),
}  # fmt: skip


@pytest.fixture(scope="module")
def answers_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawl, dict[str, str]]:
    watch = tmp_path_factory.getbasetemp()
    root = tmp_path_factory.mktemp("feeds-answers")
    replay = ReplayBuilder(root / "replay")
    urls = {}
    for channel, (_, body, _) in BROKEN.items():
        status = 500 if channel == "roll-hkstock" else 200
        urls[channel] = replay.add_roll(channel, 1, body, status=status)
    url, _, _, page = article(520)
    replay.add(url, page)
    replay.add_roll("china", 1, roll_body([roll_item(url, "good", T)]))
    replay.add_roll("china", 2, roll_body([]))
    replay.write()
    channels = [a for c in ["china", *BROKEN] for a in ("--channel", c)]
    argv = ["crawl", "--replay", str(replay.dir), "--images", "off", *channels,
            "-s", "RETRY_ENABLED=False"]  # fmt: skip
    return run("feed answers", root, argv, watch=watch), urls


def test_unusable_answers_fail_their_channel_with_a_reason(
    answers_crawl: tuple[Crawl, dict[str, str]],
) -> None:
    crawl, urls = answers_crawl
    # every broken channel listed nothing: the documented health alarm, exit 3
    assert crawl.returncode == 3, crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr
    failures = crawl.failures
    for channel, (label, _, reason) in BROKEN.items():
        got = failures.get(urls[channel], "")
        assert got.startswith(reason), f"{label}: {got!r}"
        assert (
            f"newsspider: warning: health: channel {channel}: the roll feed yielded no items"
            in (crawl.stderr)
        )
        LEDGER.add(GROUP, f"roll answer: {label}", f"skipped: {reason.split(' (')[0]}")
    assert len(failures) == len(BROKEN)
    assert crawl.summary["counts"]["archived"] == 1, "the healthy channel archived normally"
    assert check_all(crawl.posts(), crawl.out) == {}
