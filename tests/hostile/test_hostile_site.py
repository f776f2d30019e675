"""The whole suite's verdict, after every crawl of it (``hostile_last``): one Hexo site generated
from every post the hostile crawls wrote renders with zero errors and shows no active content
in any article; no crawl wrote outside its output folder or left a partial file; and at least
60 distinct hostile inputs were tried.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import lxml.html
import pytest
from hexo import assert_clean, generate_site, post_pages
from hostilekit import LEDGER, unsafe_markup

pytestmark = pytest.mark.hostile_last


def _combined_source(dest: Path) -> int:
    """Every crawl's output as one Hexo ``source`` folder: each crawl's posts under a folder of
    its own in ``_posts`` (categories come from the front matter, not the folders), images
    merged (the same URL is the same path and the same bytes)."""
    count = 0
    for n, out in enumerate(LEDGER.outputs):
        posts = out / "_posts"
        if posts.is_dir():
            shutil.copytree(posts, dest / "_posts" / f"crawl{n}")
            count += len(list(posts.rglob("*.md")))
        if (out / "images").is_dir():
            shutil.copytree(out / "images", dest / "images", dirs_exist_ok=True)
    return count


def test_no_escape_no_partial_file_and_enough_inputs() -> None:
    if not LEDGER.crawls:
        pytest.skip("no hostile crawl ran in this session (run the whole tests/hostile folder)")
    assert LEDGER.escapes == []
    assert LEDGER.partial == []
    assert all(finished for _, _, finished in LEDGER.crawls), LEDGER.crawls
    if len(LEDGER.crawls) >= 5:  # the whole suite ran
        assert len({(g, n) for g, n, _ in LEDGER.inputs}) >= 60


def test_one_hexo_site_of_every_post_renders_cleanly(tmp_path: Path) -> None:
    if not LEDGER.outputs:
        pytest.skip("no hostile crawl ran in this session (run the whole tests/hostile folder)")
    source = tmp_path / "source"
    count = _combined_source(source)
    assert count > 0
    result = generate_site(source, tmp_path / "site")
    assert_clean(result)
    pages = post_pages(result.public)
    assert len(pages) == count, "every post became a page"
    problems = {}
    for page in pages:
        doc = lxml.html.document_fromstring(page.read_bytes())
        for entry in doc.find_class("article-entry"):
            inner = "".join(lxml.html.tostring(c, encoding="unicode") for c in entry)
            found = unsafe_markup((entry.text or "") + inner)
            if found:
                problems[page.relative_to(result.public).as_posix()] = found
    assert problems == {}, "the rendered site shows active content"
