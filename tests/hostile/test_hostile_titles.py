"""Hostile headlines through a real replayed channel crawl: every one archived under a safe name
(or skipped with its reason), nothing written outside the output folder.

One crawl: a roll page listing every hostile article and one good article.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hostilekit import ESCAPE_NAME, LEDGER, Crawl, article, check_all, post_titles, run
from rollreplay import ReplayBuilder, roll_body, roll_item

from newsspider.archive.names import name_stem
from newsspider.archive.post import normalize_title

GROUP = "titles and paths"
CAFE_NFC = unicodedata.normalize("NFC", "Café résumé 财经")
CAFE_NFD = unicodedata.normalize("NFD", CAFE_NFC)
#: (label, page headline, roll list headline or None for the default)
TITLES: list[tuple[str, str, str | None]] = [
    ("../../etc/passwd", "../../etc/passwd", None),
    ("deep ../ to an escape target", "../" * 12 + f"tmp/{ESCAPE_NAME}", None),
    ("/", "/", None),
    ("..", "..", None),
    (".", ".", None),
    ("NUL inside", "before\x00after NUL", None),
    ("C0 controls and ESC", "ctl\x01\x02\x1b[31mred\x7f end", None),
    ("line breaks and tabs", "line\nbreak\r\nand\ttab\u2028sep\u3000wide", None),
    ("5,000 Chinese characters", "财" * 5000, None),
    ("5,000 characters with slashes", ("abc/def\\gh" * 500), None),
    ("only punctuation", ":/\\?*“”<>|[]", None),
    ("only dots and hashes", "...###...", None),
    ("YAML document marker ---", "---", None),
    ("YAML key: value", "key: value", None),
    ("YAML comment #", "# not a comment", None),
    ("YAML &anchor", "&anchor", None),
    ("YAML *alias", "*alias", None),
    ("YAML !!python/object", '!!python/object/apply:os.system ["touch /tmp/pwned"]', None),
    ("quotes and backslash", "It's \"quoted\" \\ back'slash", None),
    ("Nunjucks {{ x }}", "{{ x }} and {{ site.title }}", None),
    ("Nunjucks {% raw %}", "{% raw %}{% endraw %}{# c #}", None),
    ("Windows CON", "CON", None),
    ("Windows lpt1", "lpt1", None),
    ("Windows nul", "nul", None),
    ("NFC twin", CAFE_NFC, None),
    ("NFD twin", CAFE_NFD, None),
    ("right-to-left override", "\u202eexe.txt\u202c invoice \u200f\u200e", None),
    ("zero-width and BOM", "\ufeffzero\u200bwidth\u2060joiner", None),
    ("private use", "\ue000private\U000f0000use", None),
    ("HTML in the headline", "<script>alert(1)</script><img src=x onerror=alert(2)>", None),
    ("leading underscores", "__init__ hidden?", None),
    ("percent-encoded ../", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", None),
    ("Windows path", "C:\\Windows\\System32\\drivers", None),
    ("astral characters", "𝕏 \U0001f600 emoji", None),
    ("invisible headline, usable roll title", "\u200b\u200e", "roll title: usable fallback"),
]
#: a page and a roll title of only invisible characters: refused
INVISIBLE = ("invisible headline and roll title", "\u200b\u202e\u2060", "\u200b")
GOOD_N = 900


@pytest.fixture(scope="module")
def titles_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawl, dict[str, str]]:
    watch = tmp_path_factory.getbasetemp()
    root = tmp_path_factory.mktemp("titles")
    replay = ReplayBuilder(root / "replay")
    items = []
    urls: dict[str, str] = {}
    for n, (label, title, roll_title) in enumerate([*TITLES, INVISIBLE], start=1):
        url, _, _, page = article(n, title=title)
        replay.add(url, page)
        item = roll_item(url, title, 1672545600 - n * 60)
        item["title"] = roll_title or title  # the list's headline as given, not cut with "..."
        items.append(item)
        urls[label] = url
    url, _, good_title, page = article(GOOD_N)
    replay.add(url, page)
    items.append(roll_item(url, good_title, 1672545600 - GOOD_N * 60))
    urls["good"] = url
    replay.add_roll("china", 1, roll_body(items))
    replay.add_roll("china", 2, roll_body([]))
    replay.add("https://finance.sina.com.cn/robots.txt", b"User-agent: *\nAllow: /\n")
    replay.write()
    crawl = run("titles", root, ["crawl", "--replay", str(replay.dir), "--images", "off"],
                watch=watch)  # fmt: skip
    return crawl, urls


def test_every_hostile_title_archived_safely_or_skipped(
    titles_crawl: tuple[Crawl, dict[str, str]],
) -> None:
    crawl, urls = titles_crawl
    assert crawl.returncode == 1, crawl.stderr[-3000:]  # the invisible headline failed
    assert "Traceback" not in crawl.stderr
    failures = crawl.failures
    assert failures == {urls[INVISIBLE[0]]: "no headline (only invisible characters)"}
    posts = crawl.posts()
    assert check_all(posts, crawl.out) == {}
    by_title = post_titles(posts)
    for label, title, roll_title in TITLES:
        # an HTML parser reads NUL as U+FFFD (the HTML standard's rule), a visible character
        expected = normalize_title(title.replace("\x00", "\ufffd"))
        if label.startswith("invisible"):
            expected = normalize_title(roll_title or "")
        assert expected in by_title, f"{label}: no post titled {expected[:40]!r}"
        LEDGER.add(GROUP, label, "archived")
    LEDGER.add(GROUP, INVISIBLE[0], "skipped: no headline (only invisible characters)")
    assert len(posts) == len(TITLES) + 1


def test_the_good_article_is_archived_normally(
    titles_crawl: tuple[Crawl, dict[str, str]],
) -> None:
    crawl, _ = titles_crawl
    good = article(GOOD_N)[2]
    assert good in post_titles(crawl.posts())
    assert (
        crawl.out / "_posts/金融/新浪财经/新浪财经－国內" / f"{name_stem(good, '')}.md"
    ).exists()


def test_names_are_safe_and_twins_do_not_overwrite(
    titles_crawl: tuple[Crawl, dict[str, str]],
) -> None:
    crawl, _ = titles_crawl
    by_title = post_titles(crawl.posts())
    assert by_title[CAFE_NFC] != by_title[CAFE_NFD], "normalisation twins share a file"
    assert by_title["../../etc/passwd"].name == "etc_passwd.md"
    assert by_title["/"].name == "zzsyn000003.md", "an empty name becomes the doc id"
    assert by_title["CON"].name == "CON_.md"
    long = by_title["财" * 5000]
    assert len(long.name[:-3].encode("utf-8")) <= 200
    assert by_title["{{ x }} and {{ site.title }}"].name == "{{ x }} and {{ sitetitle }}.md"
    folder = crawl.out / "_posts/金融/新浪财经/新浪财经－国內"
    assert all(p.parent == folder for p in crawl.posts())
    assert not list(Path("/tmp").glob(f"{ESCAPE_NAME}*"))
