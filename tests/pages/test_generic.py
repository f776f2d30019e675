"""The generic extractor's decisions, one at a time, on small pages of a skin nobody knows.

Why: the redesign test (test_redesign.py) shows the generic extractor reads the real pages of
the corpus once re-skinned; these tests pin down each rule it reads them by (which heading is
the headline, which date is the shown one, which block is the body, which images are pictures)
and, above all, what it refuses: precision over recall, a wrong post is worse than a failure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reskin import reskin

from newsspider import NotAnArticle, extract
from newsspider.crawl.health import ExtractionHealth
from newsspider.pages.generic import fallback_of

TESTS = Path(__file__).resolve().parents[1]
HTML = TESTS / "fixtures" / "corpus" / "html"
SEED = TESTS / "fixtures" / "golden" / "seed-digital-governance" / "article.html"
SEED_URL = "https://finance.sina.com.cn/china/dfjj/2021-12-02/doc-ikyamrmy6387093.shtml"
URL = "https://news.sina.com.cn/c/2027-03-01/doc-inewskin0000001.shtml"

PARAGRAPHS = [
    "新华社北京3月1日电 记者从有关部门获悉，今年一季度全国铁路旅客发送量同比增长百分之十二，"
    "创历史同期新高。",
    "据介绍，今年以来铁路部门持续优化列车开行方案，增开夜间高铁和旅游专列，满足旅客多样化出行需求。",
    "铁路部门提醒广大旅客，请通过官方渠道购票，合理安排出行时间，注意旅途安全。",
]


def new_skin(
    *,
    title: str = "一季度铁路客运量创历史同期新高",
    og: str | None = "一季度铁路客运量创历史同期新高",
    page_title: str = "一季度铁路客运量创历史同期新高|铁路_新浪新闻",
    date_line: str = '<span class="x-d">2027年03月01日 08:15</span>'
    '<a class="x-s" href="//www.xinhuanet.com/">新华社</a>',
    body: str | None = None,
    between: str = "",
    after: str = "",
    metas: str = "",
) -> bytes:
    """An article page in a skin no page object knows (a 2027 redesign, say)."""
    if body is None:
        body = "".join(f"<p>　　{p}</p>" for p in PARAGRAPHS)
    og_tag = f'<meta property="og:title" content="{og}">' if og is not None else ""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{page_title}</title>{og_tag}{metas}</head><body>"
        '<div class="nav-2027"><h1 class="logo-2027">新闻中心</h1>'
        + "".join(f'<a href="/c/2027-03-01/doc-inav{n:010d}.shtml">要闻{n}</a>' for n in range(12))
        + f'</div><div class="wrap-2027"><div class="top-2027">{title}</div>'
        f'<h1 class="headline-2027">{title}</h1><div class="meta-2027">{date_line}</div>'
        f'{between}<div class="content-2027">{body}</div>{after}</div>'
        '<div class="side-2027"><ul>'
        + "".join(
            f'<li><a href="/c/2027-02-2{n}/doc-iside{n:09d}.shtml">其他新闻{n}</a></li>'
            for n in range(8)
        )
        + "</ul></div></body></html>"
    ).encode("utf-8")


def test_a_new_skin_is_read_by_the_generic_extractor() -> None:
    a = extract(URL, new_skin())
    assert a.family == "generic" and fallback_of(a) == "unknown_template"
    assert a.title == "一季度铁路客运量创历史同期新高"
    assert a.published is not None and a.published.isoformat() == "2027-03-01T08:15:00+08:00"
    assert (a.source, a.source_url) == ("新华社", "https://www.xinhuanet.com/")
    assert a.paragraphs == PARAGRAPHS
    assert a.doc_id == "newskin0000001"
    # the post body is the block found, through the same body transform as a family's
    body = a.body
    assert body.startswith("<p>") and all(p[:12] in body for p in PARAGRAPHS)
    assert "其他新闻" not in body and "要闻" not in body


def test_headline_is_the_heading_not_its_duplicate_in_the_sticky_bar() -> None:
    a = extract(URL, new_skin())
    assert "top-2027" not in a.body  # the duplicate div is not the body, and not the headline
    page = new_skin(og=None)  # then the <title> before its suffix names it
    assert extract(URL, page).title == "一季度铁路客运量创历史同期新高"


def test_heading_with_a_tag_og_title_lacks() -> None:
    a = extract(URL, new_skin(title="一季度铁路客运量创历史同期新高(图)"))
    assert a.title == "一季度铁路客运量创历史同期新高(图)"


def test_title_prefix_must_end_at_a_suffix_separator() -> None:
    """A heading that is only the start of the title's first part is not the headline."""
    page = new_skin(og=None, title="一季度铁路", page_title="一季度铁路客运量创历史同期新高_新浪网")
    with pytest.raises(NotAnArticle) as info:
        extract(URL, page)
    assert "no headline" in info.value.reason


@pytest.mark.parametrize(
    ("shown", "iso"),
    [
        ("2019年09月09日 07:47", "2019-09-09T07:47:00+08:00"),
        ("2016年05月25日10:10", "2016-05-25T10:10:00+08:00"),
        ("<span>2005.08.26</span>05:39", "2005-08-26T05:39:00+08:00"),
        ("2018-12-28 19:55", "2018-12-28T19:55:00+08:00"),
    ],
)
def test_shown_date_forms(shown: str, iso: str) -> None:
    a = extract(URL, new_skin(date_line=f"<span>{shown}</span> <span>新京报</span>"))
    assert a.published is not None and a.published.isoformat() == iso
    assert a.source == "新京报"


def test_date_from_the_meta_tags_when_none_is_shown() -> None:
    metas = '<meta name="weibo: article:create_at" content="2027-03-01 08:15:42">'
    a = extract(URL, new_skin(date_line="", metas=metas))
    assert a.published is not None and a.published.isoformat() == "2027-03-01T08:15:00+08:00"
    assert a.created_at is not None and a.created_at.second == 42


def test_no_date_anywhere_is_refused() -> None:
    with pytest.raises(NotAnArticle) as info:
        extract(URL, new_skin(date_line=""))
    assert "no date" in info.value.reason


def test_editor_original_title_and_disclaimer_leave_the_text() -> None:
    body = (
        "<p>　　原标题：一季度铁路旅客发送量创新高</p>"
        + "".join(f"<p>　　{p}</p>" for p in PARAGRAPHS)
        + '<p class="x-n">特别声明：以上文章内容仅代表作者本人观点，不代表新浪网观点或立场。</p>'
        "<p>责任编辑：张三 SN123</p>"
    )
    a = extract(URL, new_skin(body=body))
    assert a.paragraphs == PARAGRAPHS
    assert a.editor == "张三" and a.original_title == "一季度铁路旅客发送量创新高"
    assert "特别声明" in a.body  # kept in the body, as every family keeps it


def test_images_of_the_block_in_order_without_posters_spacers_and_hidden_ones() -> None:
    body = (
        f"<p>　　{PARAGRAPHS[0]}</p>"
        '<div class="v-2027"><a href="javascript:;"><img src="//n.sinaimg.cn/poster/v.jpg"></a>'
        '<a href="http://video.sina.com.cn/p/news/2027-03-01/detail-x.d.html">视频</a></div>'
        '<div class="p-2027"><img src="//n.sinaimg.cn/news/a.jpg"><span>图一</span></div>'
        f"<p>　　{PARAGRAPHS[1]}</p>"
        '<p><img src="http://i0.sinaimg.cn/home/c.gif" width="1" height="1"></p>'
        '<div style="display:none"><img src="//n.sinaimg.cn/default/2fb77759/share.png"></div>'
        '<div class="p-2027"><img src="//n.sinaimg.cn/news/b.png"></div>'
        '<div class="c-2027"><img src="http://image.sinajs.cn/newchart/min/n/sh000001.gif"></div>'
        f"<p>　　{PARAGRAPHS[2]}</p>"
    )
    a = extract(URL, new_skin(body=body))
    assert a.images == ["https://n.sinaimg.cn/news/a.jpg", "https://n.sinaimg.cn/news/b.png"]
    assert "https://n.sinaimg.cn/poster/v.jpg" in a.body_images  # shown, not a picture
    assert a.paragraphs == PARAGRAPHS


def test_a_poster_named_by_a_player_script_is_no_picture() -> None:
    body = (
        f"<p>{PARAGRAPHS[0]}</p><div><img src='//n.sinaimg.cn/vid/poster.jpg'></div>"
        "<script>SINA_TEXT_PAGE_INFO['videoDatas0'] = [{video_id: 1, "
        "pic: '//n.sinaimg.cn/vid/poster.jpg'}];</script>"
        f"<p>{PARAGRAPHS[1]}</p><p><img src='//n.sinaimg.cn/news/c.jpg'></p>"
    )
    assert extract(URL, new_skin(body=body)).images == ["https://n.sinaimg.cn/news/c.jpg"]


def test_live_quote_leaves_the_text_though_its_span_was_renamed() -> None:
    body = (
        f"<p>{PARAGRAPHS[0]}</p><p>　　<span class='s-1'><a href='//x'>摩根大通</a></span>"
        "<span class='s-2'>(115.395, 2.79, 2.47%)</span>股价上涨，创下年内新高，成交量放大。</p>"
    )
    a = extract(URL, new_skin(body=body))
    assert a.paragraphs[-1] == "摩根大通股价上涨，创下年内新高，成交量放大。"
    assert "(115.395, 2.79, 2.47%)" in a.body


def test_cms_text_markers_bound_the_text() -> None:
    body = (
        "<p>新酷产品第一时间免费试玩，快来新浪众测，体验各领域最前沿的产品吧！</p>"
        "<!-- 原始正文start -->"
        + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
        + "<!-- 原始正文end -->"
        "<p>进入新浪财经股吧讨论这只股票，看看网友们怎么说吧，还有更多精彩内容。</p>"
    )
    assert extract(URL, new_skin(body=body)).paragraphs == PARAGRAPHS


def test_date_and_source_above_the_headline() -> None:
    above = '2027年03月01日 08:15 <a href="//www.xinhuanet.com/">新华社</a>'
    page = new_skin(date_line="").replace(
        b'<div class="top-2027">',
        f'<div class="when-2027">{above}</div><div class="top-2027">'.encode(),
    )
    a = extract(URL, page)
    assert a.published is not None and a.published.isoformat() == "2027-03-01T08:15:00+08:00"
    assert a.source == "新华社"


def test_headline_inside_the_body_block() -> None:
    """A skin that puts headline, date line and text in one box: the text starts after the
    date line, and the headline and date are not paragraphs."""
    body = (
        '<h1 class="h-2027">一季度铁路客运量创历史同期新高</h1>'
        '<p class="d-2027">2027年03月01日 08:15 新华社</p>'
        + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    )
    page = new_skin(title="", date_line="", body=body).replace(
        b'<h1 class="headline-2027"></h1>', b""
    )
    a = extract(URL, page)
    assert a.title == "一季度铁路客运量创历史同期新高"
    assert a.published is not None and a.published.isoformat() == "2027-03-01T08:15:00+08:00"
    assert a.paragraphs == PARAGRAPHS


def test_paragraphs_written_as_divs() -> None:
    body = "".join(f"<div>　　{p}</div>" for p in PARAGRAPHS)
    assert extract(URL, new_skin(body=body)).paragraphs == PARAGRAPHS


def test_text_in_br_runs_is_read_as_paragraphs() -> None:
    body = "<br><br>".join(f"　　{p}" for p in PARAGRAPHS)
    assert extract(URL, new_skin(body=body)).paragraphs == PARAGRAPHS


# --- what it refuses ----------------------------------------------------------------------------


def test_channel_front_page_is_refused() -> None:
    """A heading matching the title, then lists of links: no article text follows it."""
    lists = "".join(
        f'<ul><li><a href="/c/2027-03-01/doc-ilist{n:09d}.shtml">今日要闻标题第{n}条新闻快讯</a>'
        f"</li><li><a href='/c/2027-03-01/doc-ilisu{n:09d}.shtml'>又一条标题第{n}条</a></li></ul>"
        for n in range(30)
    )
    page = new_skin(title="新闻中心", og=None, page_title="新闻中心_新浪网", body=lists,
                    date_line="2027年03月01日 08:15")  # fmt: skip
    with pytest.raises(NotAnArticle) as info:
        extract("https://news.sina.com.cn/", page)
    assert info.value.stat == "list_page"
    assert "generic" not in info.value.reason  # a home URL is never an article: not tried
    with pytest.raises(NotAnArticle) as info:
        extract(URL, page)  # the same page under an article's URL: tried, and refused
    assert info.value.stat == "list_page"
    assert "generic extractor" in info.value.reason


def test_video_only_reskinned_page_is_refused() -> None:
    raw = (HTML / "htmlgt-kandian-2018-09-28-toad-3img.html").read_text("utf-8")
    for pattern in (r"<p><font>.*?</font></p>", r"<p><img [^>]*/></p>"):
        raw, count = re.subn(pattern, "", raw, flags=re.S)
        assert count
    raw = raw.replace('id="artibody">', 'id="artibody"><div id="Video_Cont"><video></video></div>')
    url = "http://k.sina.com.cn/article_6598441619_1894c3a9300100elpc.html"
    with pytest.raises(NotAnArticle) as original:
        extract(url, raw.encode())
    assert original.value.stat == "video_only"
    with pytest.raises(NotAnArticle) as skinned:
        extract(url, reskin(raw.encode()))
    assert "generic extractor" in skinned.value.reason


def test_video_only_reskinned_news_page_is_refused() -> None:
    text = (HTML / "htmlgt-news-c-2018-09-28-blacklist-video.html").read_text("utf-8")
    start, end = text.index("<!--/video-list-->"), text.index('<p class="show_author">')
    raw = (text[: start + len("<!--/video-list-->")] + text[end:]).encode("utf-8")
    url = "https://news.sina.com.cn/c/2018-09-28/doc-ifxeuwwr9250746.shtml"
    with pytest.raises(NotAnArticle) as info:
        extract(url, reskin(raw))
    assert "generic extractor" in info.value.reason
    assert extract(url, reskin(text.encode("utf-8"))).family == "generic"  # the control


def test_error_page_served_with_200_is_refused() -> None:
    page = (
        '<html><head><meta charset="utf-8"><title>页面没有找到_新浪网</title></head><body>'
        '<div class="e-2027"><h1 class="e-h">页面没有找到</h1>'
        "<p>抱歉，您访问的页面不存在或已被删除。5秒后自动跳转到新浪首页。</p>"
        + "".join(
            f'<p><a href="/c/2027-03-01/doc-ierr{n:010d}.shtml">推荐阅读{n}</a></p>'
            for n in range(12)
        )
        + "</div></body></html>"
    ).encode()
    with pytest.raises(NotAnArticle) as info:
        extract(URL, page)
    assert info.value.stat in ("error_page", "list_page")


def test_too_little_text_is_refused() -> None:
    with pytest.raises(NotAnArticle) as info:
        extract(URL, new_skin(body="<p>视频：铁路春运</p>"))
    assert "generic extractor: no block of article text" in info.value.reason


def test_text_far_from_the_headline_is_refused() -> None:
    """A block of text below a long list of teasers is not the headline's article."""
    teasers = "".join(f"<div>相关推荐：这是第{n}条推荐内容的简短描述文字，共计二十多字</div>"
                      for n in range(40))  # fmt: skip
    with pytest.raises(NotAnArticle) as info:
        extract(URL, new_skin(between=teasers))
    assert "does not follow the headline" in info.value.reason


def test_a_family_refusal_keeps_its_stat_when_the_generic_extractor_refuses_too() -> None:
    page = new_skin(body="").replace(b"headline-2027", b"main-title")  # F, no body, no text
    with pytest.raises(NotAnArticle) as info:
        extract(URL, page)
    assert info.value.stat == "no_body" and info.value.reason.startswith("body container")


def test_text_beside_a_family_s_empty_body_is_not_taken_for_it() -> None:
    """A page object found its body container and no text in it: the generic extractor may
    read that container (2005 ``<br>`` runs), never a block of teasers beside it."""
    teasers = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    page = (
        new_skin(body="", after=f'<div class="more-2027">{teasers}</div>')
        .replace(b"headline-2027", b"main-title")
        .replace(b'class="content-2027"', b'class="article" id="artibody"')
    )
    with pytest.raises(NotAnArticle) as info:
        extract(URL, page)
    assert info.value.stat == "empty_body"
    assert "not the page object's body container" in info.value.reason


# --- half a re-skin: a family matches and loses its body -------------------------------------


def test_seed_page_without_its_body_id_is_archived_by_the_generic_extractor() -> None:
    original = extract(SEED_URL, SEED.read_bytes())
    a = extract(SEED_URL, SEED.read_bytes().replace(b'id="artibody"', b'id="body-2027"'))
    assert a.family == "generic" and fallback_of(a) == "no_body"
    assert (a.title, a.paragraphs, a.images) == (original.title, original.paragraphs,
                                                 original.images)  # fmt: skip
    assert a.published == original.published and a.source == original.source
    assert a.body == original.body  # the same block, the same body


# --- the health alarm ---------------------------------------------------------------------------


def test_health_counts_articles_that_needed_the_generic_extractor() -> None:
    health = ExtractionHealth()
    for _ in range(3):
        health.page("china", None, family="generic", lost="no_body")
    health.page("china", None, family="F")
    health.page("world", None, family="generic", lost="unknown_template")
    health.page("world", None, family="N")
    assert health.generic_note() == (
        "4 of 6 articles needed the generic extractor: the site may have changed"
    )
    warnings = health.warnings()
    assert warnings == [
        "channel china: 3 of 4 articles needed the generic extractor (page objects missed: "
        "body container (3)): the site may have changed"
    ]  # world: 1 of 2 is not most


def test_health_says_nothing_when_no_article_needed_it() -> None:
    health = ExtractionHealth()
    health.page("china", None, family="F")
    health.page("china", "video_only")
    assert health.generic_note() == "" and health.warnings() == []
