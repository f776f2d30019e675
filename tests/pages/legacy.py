"""Two legacy pages of other channels, in layouts the page objects half-know (issue #18).

The corpus has no such page (its 2005 page is the 产业资讯 skin, with ``th.f24`` and ``td.l17``),
so these are built after Sina's own markup of the time: GB2312 bytes, no doctype, tables, the
CMS comment ``<!--[p_id,t_id,d_id] published at …-->`` first, a centred date line, ``font#zoom``
bodies. Each one fails in a page object the way the issue reports, and is the generic
extractor's to read.

- a 2004 读书 book chapter: the headline is ``td.title14`` (not L1's ``th.f24``): L1 matches by
  its ``font#zoom`` and refuses with "no headline found";
- a 2005 房产 house page: L1's ``th.f24`` headline, but the body is text in ``<br>`` runs inside
  ``font#zoom`` (two of them, around an ad table): L1 finds the container and no ``<p>``, and
  refuses with "body holds neither text nor images".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Legacy:
    url: str
    html: bytes
    title: str
    published: str  # ISO, Beijing
    source: str
    first_paragraph: str
    last_paragraph: str
    paragraph_count: int
    images: list[str] = field(default_factory=list)
    #: the page object's refusal before #18
    refusal: str = ""


_BOOK_PARAGRAPHS = [
    "一九七八年的冬天来得特别早。刚进十一月，北风就卷着沙子从河滩上刮过来，打在供销社的玻璃窗上，沙沙地响。",
    "老周把最后一担棉花过了秤，在账本上记下数目，抬头看见门口站着一个穿军大衣的年轻人，手里捏着一张折得方方正正的介绍信。",
    "“我找周主任。”年轻人说，声音不大，却很清楚。他把介绍信递过来，手指冻得通红。",
    "老周接过信，看了两遍，又抬头打量他。信是县里开的，说这个叫林建国的知青，要到供销社来帮忙搞收购站的账目。",
    "“会打算盘吗？”老周问。林建国点点头，从大衣口袋里掏出一把旧算盘，算珠被磨得发亮。",
    "那天晚上，供销社的灯一直亮到后半夜。第二天一早，全村人都知道，收购站来了个会算账的年轻人。",
]

BOOK = Legacy(
    url="http://book.sina.com.cn/longbook/2004-06-16/1140027346.shtml",
    title="第三章 风起青萍之末",
    published="2004-06-16T11:40:00+08:00",
    source="新浪读书",
    first_paragraph=_BOOK_PARAGRAPHS[0],
    last_paragraph=_BOOK_PARAGRAPHS[-1],
    paragraph_count=len(_BOOK_PARAGRAPHS),
    images=["http://image2.sina.com.cn/book/2004-06-16/U14P5T6D27346F22DT20040616114025.jpg"],
    refusal="no headline found (L1)",
    html=(
        "<!--[5,6,27346] published at 2004-06-16 11:40:25 from #102 by 1066-->\n"
        "<html><head>\n"
        '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">\n'
        "<title>第三章 风起青萍之末_《大江东去》_读书频道_新浪网</title>\n"
        '<meta name="keywords" content="大江东去,连载,新浪读书">\n'
        "<style>.title14{font-size:14px;font-weight:bold}.f12{font-size:12px}</style>\n"
        "</head>\n<body bgcolor=#ffffff topmargin=5>\n"
        "<table width=750 border=0 cellspacing=0 cellpadding=0 align=center><tr>"
        "<td class=f12><a href=http://book.sina.com.cn/>读书频道</a> &gt; "
        "<a href=http://book.sina.com.cn/longbook/>长篇连载</a> &gt; "
        "<a href=http://book.sina.com.cn/longbook/dajiang/>《大江东去》</a> &gt; 正文</td>"
        "</tr></table>\n"
        "<table width=750 border=0 cellspacing=0 cellpadding=0 align=center>\n"
        "<tr><td align=center class=title14>第三章 风起青萍之末</td></tr>\n"
        "<tr><td align=center class=f12>http://book.sina.com.cn 2004年06月16日 11:40 "
        "<font color=#A20010>新浪读书</font></td></tr>\n"
        "<tr><td class=l17><font id=zoom class=f14>\n"
        "<center><img src=http://image2.sina.com.cn/book/2004-06-16/"
        "U14P5T6D27346F22DT20040616114025.jpg border=0 alt=《大江东去》封面></center>\n"
        + "".join(f"<p>　　{p}</p>\n" for p in _BOOK_PARAGRAPHS)
        + "</font></td></tr>\n"
        "<tr><td align=center class=f12><a href=1140027345.shtml>上一章</a> | "
        "<a href=http://book.sina.com.cn/longbook/dajiang/>目录</a> | "
        "<a href=1140027347.shtml>下一章</a></td></tr>\n"
        "</table>\n"
        "<table width=750 align=center><tr><td class=f12>"
        + "".join(
            f"<a href=http://book.sina.com.cn/longbook/2004-06-1{n}/114002734{n}.shtml>"
            f"热门连载第{n}章</a><br>"
            for n in range(10)
        )
        + "</td></tr></table>\n"
        "<table width=750 align=center><tr><td align=center class=f12>新浪网读书频道 "
        "Copyright © 1996 - 2004 SINA Inc. All Rights Reserved</td></tr></table>\n"
        "</body></html>\n"
    ).encode("gb18030"),
)

_HOUSE_FIRST = [
    "本报讯 记者昨天从市建委获悉，今年本市将新开工建设经济适用住房300万平方米，"
    "竣工200万平方米，比去年同期均有增加。",
    "据介绍，今年经济适用住房项目将主要分布在四环路以外，单套面积原则上控制在80平方米左右，"
    "以满足中低收入家庭的住房需求。",
]
_HOUSE_SECOND = [
    "市建委有关负责人表示，购房人须符合本市规定的家庭收入和住房面积条件，经审核后方可购买，"
    "违规购买的将被追回。",
    "(信报记者 蔡雪婧)",
]

HOUSE = Legacy(
    url="http://house.sina.com.cn/news/2005-03-31/0318123456.shtml",
    title="本市今年新开工经济适用房300万平米",
    published="2005-03-31T03:18:00+08:00",
    source="北京娱乐信报",
    first_paragraph=_HOUSE_FIRST[0],
    last_paragraph=_HOUSE_SECOND[-1],
    paragraph_count=len(_HOUSE_FIRST) + len(_HOUSE_SECOND),
    refusal="body holds neither text nor images",
    html=(
        "<!--[9,3,123456] published at 2005-03-31 03:18:40 from #45 by 2201-->\n"
        "<html><head>\n"
        "<meta http-equiv=Content-Type content='text/html; charset=gb2312'>\n"
        "<title>本市今年新开工经济适用房300万平米_房产资讯_新浪网</title>\n"
        "</head>\n<body>\n"
        "<table width=750 align=center><tr><td><a href=http://house.sina.com.cn/>新浪房产</a> "
        "&gt; <a href=http://house.sina.com.cn/news/>房产资讯</a></td></tr></table>\n"
        "<table width=620 align=center>\n"
        "<tr><th class=f24><font color=#05006C>本市今年新开工经济适用房300万平米</font></th></tr>\n"
        "<tr><td align=center>http://house.sina.com.cn 2005年03月31日03:18 "
        "<font color=#A20010>北京娱乐信报</font></td></tr>\n"
        "<tr><td class=l17>\n"
        "<font id=zoom class=f14>"
        + "<br><br>".join(f"　　{p}" for p in _HOUSE_FIRST)
        + "<br><br></font>\n"
        "<table width=300 align=left><tr><td><a href=http://ad.sina.com.cn/x>"
        "<img src=http://image2.sina.com.cn/ad/house/x.gif width=300 height=250></a>"
        "</td></tr></table>\n"
        "<font id=zoom class=f14>"
        + "<br><br>".join(f"　　{p}" for p in _HOUSE_SECOND)
        + "</font>\n"
        "</td></tr></table>\n"
        "<table width=750 align=center><tr><td>"
        + "".join(
            f"<a href=http://house.sina.com.cn/news/2005-03-3{n % 2}/03181234{n:02d}.shtml>"
            f"房产要闻{n}</a><br>"
            for n in range(12)
        )
        + "</td></tr></table>\n"
        "</body></html>\n"
    ).encode("gb18030"),
)

LEGACY = {"book-2004": BOOK, "house-2005": HOUSE}
