"""The one list of Sina boilerplate blocks drives all three of its uses, entry by entry.

Why: the list (markup/boilerplate.py) says for each block whether its images are the article's
pictures, whether its text is the article's words, and whether it is a video player; the body
transform, the paragraph walk and the video-only refusal must each read exactly that. A block of
each entry is put into a real page and the Article is read back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsspider import NotAnArticle, extract
from newsspider.markup.boilerplate import BLOCKS, Block

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "seed-digital-governance"
URL = json.loads((CASE / "case.json").read_text("utf-8"))["url"]
PAGE = (CASE / "article.html").read_text("utf-8")
START = PAGE.index(">", PAGE.index('id="artibody"')) + 1


def with_block(block: Block, inner: str, *, only: bool = False, img: bool = True) -> bytes:
    attr = f'{block.attr}="{block.name}"'
    poster = f'<img src="//n.sinaimg.cn/bp/{block.name}.jpg">' if img else ""
    html = f"<div {attr}>{poster}{inner}</div>"
    if only:  # the block is the whole body
        end = PAGE.index("</div>", START)
        while PAGE.count("<div", START, end) > PAGE.count("</div>", START, end):
            end = PAGE.index("</div>", end + 1)
        return (PAGE[:START] + html + PAGE[end:]).encode("utf-8")
    return (PAGE[:START] + html + PAGE[START:]).encode("utf-8")


def test_every_entry_says_why_and_is_listed_once() -> None:
    keys = [(b.attr, b.name) for b in BLOCKS]
    assert len(keys) == len(set(keys))
    for b in BLOCKS:
        assert b.attr in ("class", "id") and len(b.reason) > 10, b
        assert b.images or b.text, f"{b.name}: an entry that no use reads"


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.name)
def test_each_use_reads_its_flag(block: Block) -> None:
    a = extract(URL, with_block(block, "<p>样板文字一二三</p>"))
    url = f"https://n.sinaimg.cn/bp/{block.name}.jpg"
    assert url in a.body_images  # shown in the post, whatever the list says
    assert (url in a.images) == (not block.images)
    assert any("样板文字一二三" in p for p in a.paragraphs) == (not block.text)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.video], ids=lambda b: b.name)
def test_a_body_that_is_only_a_player_is_video_only(block: Block) -> None:
    with pytest.raises(NotAnArticle) as info:
        extract(URL, with_block(block, "", only=True, img=block.images), whole_page=True)
    # a poster where the image rule lists the player, and no text: refused as a video page
    # (a family's refusal; the generic extractor may add its own reason after it)
    assert info.value.stat in ("video_only", "empty_body")
