"""Sina's boilerplate blocks inside an article body: one list, each entry with its reason.

Three lists used to say this apart, with no word on why they differed: the images a post shows
but that are not the article's own pictures (markup/body.py: headimg, thumbnail, the content
image list), the blocks whose text is not the article's words (pages/base.py: paragraphs, the
search index, the empty-body refusal), and the video players (pages/base.py: the video-only
refusal). They differ in a few places, because each list grew from the pages its use met: an
entry one list lacks is one that never mattered to that use on any saved page (a block with no
picture, a poster block without text). Merging them would change what no page tests, so the
differences stay, as data: each entry says for which of the three uses it counts, and why.
FORMAT.md keeps every one of these blocks in the post body; this list only decides what counts
as the article's text and pictures.

Changing an entry's uses changes posts (the head image is the first content image) or the
article text: the golden cases and tests/pages pin both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    #: ``class`` (one of the element's classes) or ``id``
    attr: str
    name: str
    #: its images are not the article's pictures
    images: bool
    #: its text is not the article's words
    text: bool
    #: it is a video player (a body holding one and nothing else is a video-only page)
    video: bool
    reason: str


#: (attr, name, images, text, video, reason): see :class:`Block`
# fmt: off
BLOCKS: tuple[Block, ...] = (
    Block("class", "appendQr_wrap", True, True, False,
          "the app-download QR code Sina appends to finance bodies"),
    Block("class", "app-kaihu-qr", True, True, False,
          "the brokerage-account QR promo (开户) in finance bodies"),
    Block("class", "tech-quotation", True, True, False,
          "the 新浪众测 promo that opens tech bodies (2019)"),
    Block("class", "sinaads", True, True, False,
          "Sina's ad slot (sinaads): an ad's picture and words"),
    Block("id", "left_hzh_ad", True, True, False,
          "the in-article ad slot of 2005-2013 pages"),
    Block("id", "wx_pic", True, True, False,
          "the hidden WeChat share image of mobile pages"),
    Block("class", "article-notice", True, True, False,
          "看点's 特别声明 (disclaimer) paragraph"),
    Block("class", "ct_hqimg", True, True, False,
          "the K-line chart that opens content2014 bodies: a live quote image"),
    Block("class", "video-2017", True, True, True,
          "the 2017 skin's video player"),
    Block("class", "artical-player-wrap", True, True, True,
          "the finance video player"),
    Block("id", "Video_Cont", True, True, True,
          "the 2005-2016 video player"),
    Block("id", "J_Article_Player", False, True, True,
          "the 2019 news/tech video player: text and video rules only, since it holds no <img> "
          "(corpus: gne-tech-2019-09-11), so the image rule never needed it"),
    Block("class", "video_box", True, False, False,
          "a video poster block, listed with the body serialiser for its poster image; no saved "
          "page has one, and the text rules never listed it"),
    Block("class", "video-player", True, False, False,
          "as video_box (another skin's name)"),
    Block("class", "sina-video", True, False, False,
          "as video_box (another skin's name)"),
    Block("class", "fin_art_weixin", False, True, False,
          "the finance 'follow us on WeChat' block (2016 forex page): its QR image sits outside "
          "the body container, so the image rule never met it"),
    Block("class", "goods-card", False, True, False,
          "看点's product card (corpus: the toad page): a shop listing, no <img>"),
    Block("class", "weibo-2017", False, True, False,
          "an embedded Weibo card in 财经头条 posts (corpus: the dragon page), no <img>"),
    Block("class", "img_descr", False, True, False,
          "the <span> caption under a picture: no <img> inside; its words are a caption (the "
          "search index and the text fields would repeat it), not the article's"),
)
# fmt: on

#: other markers than a class or an id
#: ``sax-type``: Sina's ad-slot attribute (any value): neither text nor pictures
AD_SLOT_ATTR = "sax-type"
#: ``data-sudaclick`` values of blocks whose text is not the article's: the 股吧 (stock forum)
#: link block; it holds no picture, so the image rules never needed it
NOT_TEXT_SUDACLICK = frozenset({"suda_1028_guba"})
#: classes of a paragraph (``<p class=…>``, matched as a substring of the class attribute)
#: that is a credit line, not the article's words: the editor line (``article-editor``, 2017
#: ``show_author``) and 看点's disclaimer (``article-notice``)
NOT_TEXT_PARAGRAPH_CLASSES = ("article-editor", "show_author", "article-notice")


def _names(attr: str, use: str) -> frozenset[str]:
    return frozenset(b.name for b in BLOCKS if b.attr == attr and getattr(b, use))


NOT_PICTURE_CLASSES = _names("class", "images")
NOT_PICTURE_IDS = _names("id", "images")
NOT_TEXT_CLASSES = _names("class", "text")
NOT_TEXT_IDS = _names("id", "text")
VIDEO_CLASSES = _names("class", "video")
VIDEO_IDS = _names("id", "video")
