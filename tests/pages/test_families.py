"""Page objects against real Sina pages of every template family, and the edge cases around them.

Why: the archive is only as good as what the page objects read. Every saved corpus page is
extracted and each field compared with a ground truth written by reading the page
(``tests/data/corpus_truth.json``, its ``notes`` say how the tricky values were decided); the
charset, lazy-image, doc-id and non-article cases that real pages rarely combine are built as
small variants of those pages or as synthetic snippets. Everything is read from the project tree.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path

import lxml.html
import pytest

from newsspider import Article, NotAnArticle, extract
from newsspider.markup.body import render_bodies
from newsspider.pages import FAMILIES, Probe, choose_family
from newsspider.pages.base import (
    dataset_wrapper_url,
    decode_html,
    doc_id_from_url,
    meta_keywords,
    parse_beijing,
    parse_html,
    strip_dataset_wrapper,
)

TESTS = Path(__file__).resolve().parents[1]
CORPUS = TESTS / "fixtures" / "corpus"
HTML = CORPUS / "html"
TRUTH = json.loads((TESTS / "data" / "corpus_truth.json").read_text("utf-8"))["pages"]
MANIFEST = {
    row["filename"]: row
    for row in csv.DictReader((HTML / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t")
}
ARTICLES = sorted(name for name, t in TRUTH.items() if t.get("not_article") is None)
REFUSED = sorted(name for name, t in TRUTH.items() if t.get("not_article") is not None)

_SPACES = re.compile(r"\s+")


def norm(text: str) -> str:
    """The truth file's text normalisation: U+3000/U+00A0 as spaces, runs squeezed."""
    return _SPACES.sub(" ", text.replace("\u3000", " ").replace("\xa0", " ")).strip()


def page_bytes(name: str) -> bytes:
    return (CORPUS / name if "/" in name else HTML / name).read_bytes()


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_CACHE: dict[str, Article] = {}


def article(name: str) -> Article:
    if name not in _CACHE:
        _CACHE[name] = extract(TRUTH[name]["url"], page_bytes(name), "text/html")
    return _CACHE[name]


# --- the corpus: every page, every field ------------------------------------------------------


def test_truth_covers_every_corpus_page() -> None:
    assert set(ARTICLES) == set(MANIFEST), "a corpus page without ground truth (or vice versa)"
    lists = {f"lists/{p.name}" for p in (CORPUS / "lists").glob("*.html")}
    assert lists == set(REFUSED)
    for name in ARTICLES:
        assert TRUTH[name]["url"] == MANIFEST[name]["original_url"].split()[0]
        assert TRUTH[name]["notes"], f"{name}: say how the values were decided"


@pytest.mark.parametrize("name", ARTICLES)
def test_family_detection(name: str) -> None:
    truth = TRUTH[name]
    text, _ = decode_html(page_bytes(name))
    family = choose_family(Probe(truth["url"], parse_html(strip_dataset_wrapper(text))))
    assert family is not None and family.family == truth["family"]


_FIELDS = (
    "canonical_url", "doc_id", "title", "created_at", "published", "first_published", "modified",
    "source", "source_url", "media", "editor", "original_title", "keywords", "breadcrumb",
    "images",
)  # fmt: skip


@pytest.mark.parametrize("name", ARTICLES)
def test_corpus_page_matches_ground_truth(name: str) -> None:
    truth = TRUTH[name]
    a = article(name)
    got = {
        "canonical_url": a.url,
        "doc_id": a.doc_id,
        "title": norm(a.title),
        "created_at": iso(a.created_at),
        "published": iso(a.published),
        "first_published": iso(a.first_published),
        "modified": iso(a.modified),
        "source": a.source,
        "source_url": a.source_url,
        "media": a.media,
        "editor": a.editor,
        "original_title": norm(a.original_title),
        "keywords": a.keywords,
        "breadcrumb": a.breadcrumb,
        "images": a.images,
    }
    assert got == {field: truth[field] for field in _FIELDS}
    assert a.family == truth["family"]
    assert len(a.paragraphs) == truth["paragraph_count"]
    assert norm(a.paragraphs[0]) == truth["first_paragraph"]
    assert norm(a.paragraphs[-1]) == truth["last_paragraph"]


@pytest.mark.parametrize("name", ARTICLES)
def test_times_are_beijing_aware(name: str) -> None:
    a = article(name)
    for value in (a.created_at, a.published, a.first_published, a.modified):
        assert value is None or value.utcoffset() is not None
    assert a.published is not None and a.published.utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize("name", ARTICLES)
def test_body_is_kept_whole_and_noise_only_leaves_the_text(name: str) -> None:
    """FORMAT.md: the body container stays whole; noise is dropped from the text fields only."""
    a = article(name)
    assert a.body.strip()
    for image in a.images:
        assert image in a.body_images
        assert image.startswith(("https://", "http://"))
    if a.editor:
        assert a.editor in a.body or name.startswith("mh-finance-forex")  # L3: after the body
    assert not any(
        p.startswith(("责任编辑", "原标题", "特别声明", "免责声明")) for p in a.paragraphs
    )
    if a.original_title:
        assert "原标题" in a.body
        assert not any(p.startswith("原标题") for p in a.paragraphs)


def test_noise_stays_in_the_body_but_not_in_the_text() -> None:
    tech = article("gne-tech-2019-09-11-iphone11-rendered.html")
    assert "tech-quotation" in tech.body and "新浪众测" in tech.body
    assert not any("新浪众测" in p for p in tech.paragraphs)
    assert "相关新闻" in tech.body and not any("相关新闻" in p for p in tech.paragraphs)
    assert (
        "https://p.ivideo.sina.com.cn/video/303/737/494/303737494_400_300.jpg" in tech.body_images
    )
    assert not any("ivideo" in u for u in tech.images)  # video poster, not a content image

    forex = article("mh-finance-forex-2016-05-25-rmb.html")
    assert (
        "ct_hqimg" in forex.body
        and "http://image.sinajs.cn/newchart/v5/forex/k/day6/USDCNH.png" in forex.body_images
    )
    assert forex.images == []
    assert "新浪财经股吧" in forex.body and not any("股吧" in p for p in forex.paragraphs)

    toad = article("htmlgt-kandian-2018-09-28-toad-3img.html")
    assert "article-notice" in toad.body and not any("特别声明" in p for p in toad.paragraphs)

    park = article("gne-news-2019-11-25-park-rendered.html")
    assert any("sinacn20191125ac" in u for u in park.body_images)  # the video poster
    assert not any("sinacn20191125ac" in u for u in park.images)

    mobile = article("mh-finance-sina-cn-wap-2005-08-26-announcement.html")
    assert "https://n.sinaimg.cn/default/2fb77759/20151125/320X320.png" in mobile.body_images
    assert mobile.images == []  # #wx_pic hidden share image


def test_spacers_and_promo_icons_are_not_content_images() -> None:
    aidai = article("cx-ent-2009-11-09-aidai-gb2312.html")
    assert "http://i0.sinaimg.cn/home/c.gif" in aidai.body_images
    assert "http://i0.sinaimg.cn/ent/deco/2009/0507/entphone.gif" in aidai.body_images
    assert all("c.gif" not in u and "entphone" not in u for u in aidai.images)
    assert aidai.headimg.endswith("F326DT20091109135102.jpg")


def test_2005_ad_slot_is_put_back_into_its_paragraph() -> None:
    a = article("cwce-chanye-finance-2005-03-21-gb2312.html")
    assert "意外地获得了500万元的体彩大奖" in a.paragraphs[1]
    ad = "http://image2.sina.com.cn/chye/temp/U435P111T7D471F130DT20040329191644.jpg"
    assert ad in a.body_images and ad not in a.images
    # the slot sits inside the paragraph, as a browser (quirks mode) builds it
    assert re.search(
        r"获得了5<!--NEWSZW_HZH_BEGIN--><table.*?</table><!--NEWSZW_HZH_END-->00万元", a.body, re.S
    )


def test_expected_text_where_a_third_party_has_it() -> None:
    """The third-party ground truths agree with ours, once their conventions are undone."""
    cwce = json.loads(
        (CORPUS / "expected" / "cwce-chanye-finance-2005-03-21-gb2312.json").read_text("utf-8")
    )
    lines = [norm(x) for x in cwce["cleaned"].split("\n") if x.strip()]
    lines[1:3] = [lines[1] + lines[2]]  # their split of "5" / "00万元" around the ad slot
    assert [
        norm(p) for p in article("cwce-chanye-finance-2005-03-21-gb2312.html").paragraphs
    ] == lines
    assert cwce["author"] == article("cwce-chanye-finance-2005-03-21-gb2312.html").media

    tram = json.loads((CORPUS / "expected" / "mh-news-2024-05-10-tram.json").read_text("utf-8"))
    theirs = [norm(x) for x in tram["content"].split("\n") if x.strip()]
    theirs = [x for x in theirs if "图片来源" not in x]  # they keep image captions
    split = next(i for i, x in enumerate(theirs) if x.startswith("上海同济"))
    theirs[split : split + 3] = ["".join(theirs[split : split + 3])]  # one <p> of three <font>
    assert [norm(p) for p in article("mh-news-2024-05-10-tram.html").paragraphs] == theirs


@pytest.mark.parametrize("name", REFUSED)
def test_list_pages_are_not_articles(name: str) -> None:
    truth = TRUTH[name]
    with pytest.raises(NotAnArticle) as info:
        extract(truth["url"], page_bytes(name), "text/html")
    assert info.value.stat == truth["not_article"]["stat"]
    assert truth["not_article"]["reason_contains"] in info.value.reason


# --- charsets ----------------------------------------------------------------------------------

GB_PAGES = {
    "cx-ent-2009-11-09-aidai-gb2312.html": "爱戴掀起红盖头 庆东南劲爆音乐颁奖七周年(图)",
    "cwce-chanye-finance-2005-03-21-gb2312.html": "四年前中500万现穷困潦倒 一夜暴富后如何经营",
}


@pytest.mark.parametrize("name", sorted(GB_PAGES))
@pytest.mark.parametrize("header", [None, "text/html; charset=utf-8", "text/html; charset=GB2312"])
def test_gb2312_page_decodes_whatever_the_header_says(name: str, header: str | None) -> None:
    a = extract(TRUTH[name]["url"], page_bytes(name), header)
    assert a.title == GB_PAGES[name]
    assert "\ufffd" not in a.title + "".join(a.paragraphs)
    text, encoding = decode_html(page_bytes(name), header)
    assert encoding == "gb18030" and GB_PAGES[name] in text


def test_gb2312_page_without_its_meta_charset_falls_back_to_gb18030() -> None:
    raw = page_bytes("cx-ent-2009-11-09-aidai-gb2312.html").replace(b"charset=gb2312", b"")
    assert b"charset" not in raw[:4096].lower()
    a = extract(
        TRUTH["cx-ent-2009-11-09-aidai-gb2312.html"]["url"], raw, "text/html; charset=utf-8"
    )
    assert a.title == GB_PAGES["cx-ent-2009-11-09-aidai-gb2312.html"]


def test_gbk_characters_beyond_gb2312_survive() -> None:
    """Sina's "GB2312" holds GBK: 镕 (U+9555) is not in GB2312; a gb2312 codec would fail."""
    raw = '<html><head><meta charset="gb2312"><title>朱镕基</title></head></html>'.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("gb2312")
    assert "朱镕基" in decode_html(raw)[0]


def test_utf8_page_served_as_gb2312_decodes_right() -> None:
    name = "htmlgt-news-c-2018-09-28-blacklist-video.html"
    a = extract(TRUTH[name]["url"], page_bytes(name), "text/html; charset=gb2312")
    assert a.title == TRUTH[name]["title"]
    assert decode_html(page_bytes(name), "text/html; charset=gb2312")[1] == "utf-8"


def test_utf8_page_without_meta_charset_served_as_gb2312_decodes_right() -> None:
    """Only the (wrong) header speaks, and these UTF-8 bytes are valid GB18030 too: the header's
    charset must come after UTF-8, or the title comes out as mojibake."""
    raw = (
        '<!DOCTYPE html><html><head></head><body><h1 class="main-title">中文标题</h1>'
        '<div class="date-source"><span class="date">2018-12-28 19:55</span>'
        '<a class="source" href="//x.sina.com.cn/">新闻标题</a></div>'
        '<div class="article" id="artibody"><p>财经新闻</p></div></body></html>'
    ).encode()
    assert raw.decode("gb18030") != raw.decode("utf-8")  # valid GB18030 too: the trap
    a = extract(URL, raw, "text/html; charset=gb2312")
    assert (a.title, a.source, a.paragraphs) == ("中文标题", "新闻标题", ["财经新闻"])


def test_dataset_wrapper_line() -> None:
    raw = page_bytes("cwce-chanye-finance-2005-03-21-gb2312.html")
    text, _ = decode_html(raw)
    assert text.startswith("<text id=")
    assert (
        dataset_wrapper_url(text) == "http://chanye.finance.sina.com.cn/sm/2005-03-21/244339.shtml"
    )
    stripped = strip_dataset_wrapper(text)
    assert stripped.lstrip().startswith("<!--[111,3,244339]") and "</text>" not in stripped[-50:]
    assert strip_dataset_wrapper(stripped) == stripped
    # the same page without the wrapper gives the same article
    bare = raw[raw.index(b"\n") + 1 :].replace(b"</text>", b"")
    url = TRUTH["cwce-chanye-finance-2005-03-21-gb2312.html"]["url"]
    a, b = extract(url, raw), extract(url, bare)
    assert (a.title, a.paragraphs, a.body, a.doc_id) == (b.title, b.paragraphs, b.body, b.doc_id)


# --- ids and dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "doc_id"),
    [
        ("https://tech.sina.com.cn/t/2019-09-11/doc-iicezzrq4972166.shtml", "icezzrq4972166"),
        ("https://news.sina.com.cn/c/2018-09-28/doc-ifxeuwwr9250746.shtml", "fxeuwwr9250746"),
        (
            "https://finance.sina.cn/sa/2005-08-26/detail-ikknscsi2623250.d.html?from=wap",
            "kknscsi2623250",
        ),
        ("https://finance.sina.com.cn/x/2019-01-01/doc-iiiabc123.shtml", "iiabc123"),
        ("https://finance.sina.com.cn/x/2019-01-01/doc-hqfskcn2160999.shtml", "hqfskcn2160999"),
        ("http://ent.sina.com.cn/y/2009-11-09/13482762951.shtml", ""),
    ],
)
def test_doc_id_strips_exactly_one_i(url: str, doc_id: str) -> None:
    assert doc_id_from_url(url) == doc_id


def test_doc_id_of_a_2019_page_keeps_its_own_leading_i() -> None:
    assert article("gne-tech-2019-09-11-iphone11-rendered.html").doc_id == "icezzrq4972166"
    assert article("gne-news-2019-09-07-chip.html").doc_id == "icezzrq4076655"


@pytest.mark.parametrize(
    ("text", "iso_value"),
    [
        ("2018年12月28日 19:55", "2018-12-28T19:55:00+08:00"),
        ("2016年05月25日10:10", "2016-05-25T10:10:00+08:00"),
        ("2005.08.26 05:39", "2005-08-26T05:39:00+08:00"),
        ("2018-12-28 19:55:10", "2018-12-28T19:55:10+08:00"),
        ("2018-09-28T19:37:53+08:00", "2018-09-28T19:37:53+08:00"),
        ("2018-09-28T11:37:53+00:00", "2018-09-28T11:37:53+00:00"),
        ("2018-02-30 10:00", None),
        ("", None),
        ("昨天", None),
    ],
)
def test_parse_beijing(text: str, iso_value: str | None) -> None:
    assert iso(parse_beijing(text)) == iso_value


def test_meta_keywords_filters_titles_and_constants() -> None:
    assert meta_keywords("财经头条,财经新闻,投资价值", "随便") == []
    assert meta_keywords(",sina.cn", "公告") == []
    assert meta_keywords("爱戴掀起红盖头 庆东南", "爱戴掀起红盖头 庆东南") == []
    assert meta_keywords("老家,蟾蜍，农村", "女子回农村老家") == ["老家", "蟾蜍", "农村"]


# --- synthetic pages: lazy images, noise, several font#zoom -------------------------------------

PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"
    "60e6kgAAAABJRU5ErkJggg=="
)


def skin_page(
    body: str, *, body_id: str = "artibody", head: str = "", title: str = "测试标题"
) -> bytes:
    """A minimal page of the 2017 skin (F, or N with ``body_id="article"``)."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8">{head}</head><body>'
        f'<h1 class="main-title">{title}</h1>'
        '<div class="date-source"><span class="date">2018年12月28日 19:55</span>'
        '<a class="source ent-source" href="//www.bjnews.com.cn/">新京报</a></div>'
        f'<div class="article" id="{body_id}">{body}</div></body></html>'
    ).encode()


URL = "https://finance.sina.com.cn/roll/2018-12-28/doc-ihqfskcn2160999.shtml"


def test_lazy_image_with_data_placeholder_takes_its_data_src() -> None:
    a = extract(URL, skin_page(
        f'<p>正文。</p><img class="swiper-lazy" src="{PIXEL}" data-src="//n.sinaimg.cn/lazy/a.jpg">'
    ))  # fmt: skip
    assert a.images == ["https://n.sinaimg.cn/lazy/a.jpg"]
    # the post body (the body transform, run by the page object) takes the real URL
    assert 'src="https://n.sinaimg.cn/lazy/a.jpg"' in a.body and "data:image" not in a.body


def test_lazy_image_without_src() -> None:
    a = extract(
        URL, skin_page('<p>正文。</p><img data-original="//n.sinaimg.cn/lazy/b.png" alt="">')
    )
    assert a.images == ["https://n.sinaimg.cn/lazy/b.png"]


def test_protocol_relative_image_becomes_https_and_commented_image_is_no_image() -> None:
    a = extract(URL, skin_page(
        '<p>正文。</p><!-- <img src="//n.sinaimg.cn/commented/out.jpg"> -->'
        '<div class="img_wrapper"><img src="//n.sinaimg.cn/real/c.jpg"></div>'
        '<img src="http://i0.sinaimg.cn/home/c.gif" width="1" height="1">'
    ))  # fmt: skip
    assert a.images == ["https://n.sinaimg.cn/real/c.jpg"]
    assert a.body_images == ["https://n.sinaimg.cn/real/c.jpg", "http://i0.sinaimg.cn/home/c.gif"]
    assert "commented/out.jpg" in a.body  # the comment stays, inert


def test_live_quote_and_disclaimer_leave_the_text_only() -> None:
    a = extract(URL, skin_page(
        '<p>　　<span id="usstock_JPM"><a class="keyword" href="//x">摩根大通</a></span>'
        '<span id="quote_JPM">(115.395, 2.79, 2.47%)</span>股价上涨。</p>'
        '<p><span style="font-family: KaiTi_GB2312">免责声明：本文仅代表作者观点。</span></p>'
        '<p class="article-editor">责任编辑：霍琦 SF007</p>'
    ))  # fmt: skip
    assert a.paragraphs == ["摩根大通股价上涨。"]
    assert "(115.395, 2.79, 2.47%)" in a.body and "免责声明" in a.body
    assert a.editor == "霍琦"
    assert a.source_url == "https://www.bjnews.com.cn/"


def test_br_splits_a_paragraph_into_lines() -> None:
    a = extract(URL, skin_page("<p>第一行<br>第二行<br/><br>第三行</p>"))
    assert a.paragraphs == ["第一行", "第二行", "第三行"]


def test_mobile_share_image_and_ad_slot_are_not_content() -> None:
    page = (
        '<html><head><meta charset="utf-8"></head><body><h1 class="art_tit_h1">手机标题</h1>'
        '<h2 class="weibo_user">上海证券报</h2><time class="weibo_time">'
        '<span class="weibo_time_day">2005.08.26</span>05:39</time>'
        '<section class="art_pic_card art_content"><p class="art_p">正文一。</p>'
        f'<div sax-type="proxy"><img src="//d.sinaimg.cn/ad.jpg"></div>'
        f'<p class="art_p"><img src="{PIXEL}" data-src="//n.sinaimg.cn/m/pic.jpg"></p>'
        "<div id='wx_pic' style='display:none'><img src='//n.sinaimg.cn/default/320X320.png'></div>"
        "</section></body></html>"
    ).encode()
    a = extract("https://finance.sina.cn/2018-12-28/detail-ihqfskcn2160999.d.html", page)
    assert a.family == "M"
    assert a.images == ["https://n.sinaimg.cn/m/pic.jpg"]
    assert iso(a.published) == "2005-08-26T05:39:00+08:00"
    assert a.doc_id == "hqfskcn2160999" and a.source == "上海证券报"


def test_2005_house_page_body_is_every_font_zoom() -> None:
    page = (
        "<html><head><meta http-equiv=Content-Type content='text/html; charset=gb2312'></head>"
        "<body><table><tr><th class=f24><font>房产标题</font></th></tr>"
        "<tr><td align=center>http://house.sina.com.cn 2005年03月31日03:18 "
        "<font color=#A20010>北京娱乐信报</font></td></tr></table>"
        "<font id=zoom class=f14><p>　　第一段。</p><img src=//image2.sina.com.cn/h/1.jpg></font>"
        "<table><tr><td>广告<img src=//image2.sina.com.cn/ad/x.gif></td></tr></table>"
        "<font id=zoom class=f14><p>　　第二段。</p><p>　　(信报记者 蔡雪婧)</p></font>"
        "</body></html>"
    ).encode("gb18030")
    a = extract("http://house.sina.com.cn/news/2005-03-31/0318123456.shtml", page)
    assert a.family == "L1"
    assert a.title == "房产标题" and a.source == "北京娱乐信报"
    assert iso(a.published) == "2005-03-31T03:18:00+08:00"
    assert a.paragraphs == ["第一段。", "第二段。", "(信报记者 蔡雪婧)"]
    assert a.images == ["https://image2.sina.com.cn/h/1.jpg"]  # not the ad between the two
    assert a.body.index("第一段") < a.body.index("第二段") and "广告" not in a.body


def test_render_bodies_concatenates_in_order() -> None:
    root = lxml.html.fragment_fromstring(
        "<div><b><img src='/a.jpg'>x</b><b><img src='/a.jpg'><img src='/b.jpg'>y</b></div>"
    )
    body = render_bodies(list(root), "https://example.sina.com.cn/p.shtml")
    assert body.html.count("<img") == 3 and body.html.index("x") < body.html.index("y")
    assert body.images == ["https://example.sina.com.cn/a.jpg", "https://example.sina.com.cn/b.jpg"]


# --- pages that are not articles -----------------------------------------------------------------


def _video_only(raw: bytes, strip: list[str], video: str) -> bytes:
    """A page with its text paragraphs and pictures removed, and a video player in their place."""
    text = raw.decode("utf-8")
    for pattern in strip:
        text, count = re.subn(pattern, "", text, flags=re.S)
        assert count, pattern
    return text.replace('id="artibody">', 'id="artibody">' + video, 1).encode("utf-8")


def test_video_only_kandian_page_is_not_an_article() -> None:
    name = "htmlgt-kandian-2018-09-28-toad-3img.html"
    raw = _video_only(
        page_bytes(name),
        [r"<p><font>.*?</font></p>", r"<p><img [^>]*/></p>"],
        '<div id="Video_Cont"><img src="//n.sinaimg.cn/poster.jpg"></div>',
    )
    with pytest.raises(NotAnArticle) as info:
        extract(TRUTH[name]["url"], raw, "text/html")
    assert info.value.stat == "video_only" and "video" in info.value.reason
    # the control: the untouched page is an article
    assert extract(TRUTH[name]["url"], page_bytes(name)).paragraphs


def test_video_only_news_page_is_not_an_article() -> None:
    name = "htmlgt-news-c-2018-09-28-blacklist-video.html"
    text = page_bytes(name).decode("utf-8")
    start, end = text.index("<!--/video-list-->"), text.index('<p class="show_author">')
    raw = (text[: start + len("<!--/video-list-->")] + text[end:]).encode("utf-8")
    with pytest.raises(NotAnArticle) as info:
        extract(TRUTH[name]["url"], raw)
    assert info.value.stat == "video_only"


@pytest.mark.parametrize(
    ("url", "body", "content_type", "stat"),
    [
        (URL, b"", None, "empty_page"),
        (URL, b" \n\t ", "text/html", "empty_page"),
        (URL, b'{"result": {}}', "application/json", "not_html"),
        (
            URL,
            "<html><head><title>页面没有找到 404</title></head><body>抱歉</body></html>".encode(),
            None,
            "error_page",
        ),
        (URL, b"<html><body><p>hello</p></body></html>", None, "unknown_template"),
        (
            "https://slide.news.sina.com.cn/s/slide_1_2841_322380.html",
            b"<html></html>",
            None,
            "slideshow",
        ),
        (URL, skin_page("", title=""), None, "no_title"),
        (
            URL,
            skin_page("<p>　　</p><p class='article-editor'>责任编辑：霍琦</p>"),
            None,
            "empty_body",
        ),
        (
            URL,
            skin_page("<p>正文</p>", body_id="elsewhere").replace(b'id="artibody"', b""),
            None,
            None,
        ),
    ],
)
def test_not_an_article(url: str, body: bytes, content_type: str | None, stat: str | None) -> None:
    with pytest.raises(NotAnArticle) as info:
        extract(url, body, content_type)
    assert info.value.reason
    if stat is not None:
        assert info.value.stat == stat


def test_families_are_all_registered_once() -> None:
    names = [f.family for f in FAMILIES]
    assert sorted(names) == sorted({"F", "N", "K", "T", "L3", "L2", "L1", "M"})
    assert names.index("K") < names.index("F") and names.index("N") < names.index("F")
    assert names.index("T") < names.index("F") and names[-1] == "L1"
