"""The one item every page object returns and every pipeline reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: the channel an article is filed under when nobody says (``--channel``, NEWSSPIDER_CHANNEL)
DEFAULT_CHANNEL = "china"


class NotAnArticle(ValueError):
    """A page that must not become a post (video-only, list, error page...).

    The message is the reason, short and specific; it ends up in logs, stats and summaries.
    """

    def __init__(self, reason: str, *, stat: str = "not_article") -> None:
        super().__init__(reason)
        self.reason = reason
        #: the stat key suffix (`article/<stat>`) this refusal is counted under
        self.stat = stat


@dataclass
class Article:
    """What a Sina article page says, independent of the archive format.

    Page objects fill the page fields; the spider adds what only the crawl knows (channel, roll
    times). Times are tz-aware (Beijing time unless the page said otherwise).
    """

    #: canonical article URL: https, no query string, no fragment
    url: str
    #: Sina doc id (one leading ``i`` stripped), or "" when the page has none
    doc_id: str
    #: headline as shown on the page (not the <title> with its site suffix), not yet normalised
    title: str
    #: ``weibo: article:create_at`` (seconds); equals the roll API's ctime
    created_at: datetime | None = None
    #: the date shown on the page (minutes only on most templates)
    published: datetime | None = None
    #: ``article:published_time``: first publication, often later than creation
    first_published: datetime | None = None
    #: ``weibo: article:update_at``
    modified: datetime | None = None
    #: media source as shown (``新京报``), and its link when the page links it
    source: str = ""
    source_url: str = ""
    #: the real author where the shown source is a platform (``新浪看点``): meta mediaid
    media: str = ""
    #: ``责任编辑：…`` without the label
    editor: str = ""
    #: the ``原标题：…`` line's text, without the label
    original_title: str = ""
    keywords: list[str] = field(default_factory=list)
    breadcrumb: list[str] = field(default_factory=list)
    #: template family that extracted it (F, N, K, T, L3, L2, L1, M), or ``generic`` when no
    #: page object could and the generic extractor did (newsspider/pages/generic.py)
    family: str = ""
    #: the post body: the body containers through the body transform
    #: (:func:`newsspider.markup.body.render_bodies`: sanitised, links resolved, remote image
    #: URLs), as the page object rendered it from the tree it parsed; the writer wraps it
    #: as it is. An Article built from other HTML gets it from
    #: :func:`newsspider.markup.body.transform_html`.
    body: str = ""
    #: content images in order (not Sina's QR/promo blocks, not video posters, not in comments)
    images: list[str] = field(default_factory=list)
    #: every image a post shows (boilerplate blocks included, comments excluded): what to download
    body_images: list[str] = field(default_factory=list)
    #: article text, one entry per paragraph, noise (editor, 原标题, disclaimers, quotes) removed
    paragraphs: list[str] = field(default_factory=list)

    # --- filled in by the crawl, not by the page ---
    #: channel key the article was reached through (FORMAT.md channel table)
    channel: str = DEFAULT_CHANNEL
    #: roll API item times (unix seconds), when reached through the roll API
    roll_ctime: int | None = None
    roll_mtime: int | None = None
    #: image URL -> local path (root-relative, ``/images/...``) for images that downloaded
    local_images: dict[str, str] = field(default_factory=dict)
    #: image URL -> failure reason
    failed_images: dict[str, str] = field(default_factory=dict)

    @property
    def headimg(self) -> str:
        return self.images[0] if self.images else ""
