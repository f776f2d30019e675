"""Does a crawl look like Sina changed under us? Scrapy-free; the sina spider feeds it.

A redesign does not raise errors: pages still answer 200, the roll feed still answers JSON,
and a crawl quietly archives nothing. Two signs give it away, per channel:

- the roll feed listed no items at all (a changed or dead list, or an API answering in a new
  shape), or
- more than a fifth of the article pages fetched failed extraction *the way a redesign does*:
  no body container, no headline, no known template, markup that does not parse.

A third sign is an article that only the generic extractor could read (no page object knows
its skin, or the one that matched lost its headline or body container): the archive keeps
growing, and every run says how many needed it; when most of a channel's articles did, the
site has most likely changed, and the run raises the alarm as for the signs above.

A page rightly refused (a video page, a video-only article, a slideshow, an error page, a list
page, a non-HTML answer, an empty body) is the page being what it is, not the extractor being
lost: it counts as a page but not as a failure. A download that failed (timeouts, 5xx) is a
fault of the network, reported and retried elsewhere, not a health alarm.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: ``NotAnArticle.stat`` values that mean "the extractor no longer recognises the page", with
#: the field a user would look at first in a redesign
REDESIGN_STATS: dict[str, str] = {
    "no_body": "body container",
    "no_title": "headline",
    # a family is recognised by its body container: without it no family matches the page
    "unknown_template": "page template (no known body container)",
    "unparseable": "HTML markup",
}
#: a run is unhealthy above this share of article pages failing as in a redesign
MAX_FAILING_SHARE = 0.2
#: the family name of articles the generic extractor made (newsspider.pages.generic.FAMILY)
GENERIC = "generic"
#: what the page objects missed on a page the generic extractor then read, by the refusal's
#: stat (newsspider.pages.FALL_BACK_STATS)
GENERIC_AFTER: dict[str, str] = {
    "unknown_template": "skin unknown",
    "list_page": "skin unknown",
    "error_page": "skin unknown",
    "no_body": "body container",
    "no_title": "headline",
    "empty_body": "body text",
}
#: a run is unhealthy when more than this share of a channel's article pages needed the
#: generic extractor ("most": a few pages of an odd skin are no redesign)
MAX_GENERIC_SHARE = 0.5


@dataclass
class ChannelHealth:
    pages: int = 0  # article pages that reached extraction
    failing: Counter[str] = field(default_factory=Counter)  # field -> pages failing on it
    generic: int = 0  # articles only the generic extractor could read
    lost: Counter[str] = field(default_factory=Counter)  # what the page objects lost on those


@dataclass
class ExtractionHealth:
    """Counts per channel, then :meth:`warnings` at the end of the run."""

    channels: dict[str, ChannelHealth] = field(default_factory=dict)
    #: channel -> items its roll feed listed this run (absent: the channel was never read)
    roll_items: dict[str, int] = field(default_factory=dict)

    def page(
        self, channel: str, stat: str | None, family: str = "", lost: str | None = None
    ) -> None:
        """One article page extracted (``stat`` None) or refused with ``NotAnArticle.stat``;
        ``family`` is the extracted article's, ``lost`` the refusal's stat after which the
        generic extractor took over (:func:`newsspider.pages.generic.fallback_of`)."""
        health = self.channels.setdefault(channel, ChannelHealth())
        health.pages += 1
        if stat in REDESIGN_STATS:
            health.failing[REDESIGN_STATS[stat]] += 1
        if stat is None and family == GENERIC:
            health.generic += 1
            health.lost[GENERIC_AFTER.get(lost or "", "skin unknown")] += 1

    def generic_note(self) -> str:
        """``N of M articles needed the generic extractor: the site may have changed``, for
        the run's log whatever the share ("" when no article needed it)."""
        needed = sum(h.generic for h in self.channels.values())
        if not needed:
            return ""
        pages = sum(h.pages for h in self.channels.values())
        return (
            f"{needed} of {pages} articles needed the generic extractor: the site may have changed"
        )

    def roll_page(self, channel: str, items: int) -> None:
        self.roll_items[channel] = self.roll_items.get(channel, 0) + items

    def warnings(self) -> list[str]:
        out = []
        for channel, items in self.roll_items.items():
            if items == 0:
                out.append(f"channel {channel}: the roll feed yielded no items "
                           "(failing: roll list data)")  # fmt: skip
        for channel, health in self.channels.items():
            failed = sum(health.failing.values())
            if health.pages and failed / health.pages > MAX_FAILING_SHARE:
                fields = ", ".join(f"{name} ({n})" for name, n in health.failing.most_common())
                out.append(
                    f"channel {channel or '?'}: {failed} of {health.pages} article pages failed "
                    f"extraction (failing: {fields}); has the page template changed?"
                )
            if health.pages and health.generic / health.pages > MAX_GENERIC_SHARE:
                lost = ", ".join(f"{name} ({n})" for name, n in health.lost.most_common())
                out.append(
                    f"channel {channel or '?'}: {health.generic} of {health.pages} articles "
                    f"needed the generic extractor (page objects missed: {lost}): the site may "
                    "have changed"
                )
        return out
