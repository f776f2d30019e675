"""The User-Agent: the project, its version, and a contact the user sets.

A site operator who sees the crawler in their logs should be able to tell what it is and whom
to ask; the project has no web page to point at, so the contact is the user's own
(``NEWSSPIDER_CONTACT``: an e-mail address or a URL). It is added by the project's Scrapy add-on
(:mod:`newsspider.crawl.addon`) because an add-on runs after every setting (``-s`` included) is
known and before the crawl reads ``USER_AGENT``; a ``USER_AGENT`` set by the user is left alone.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

#: what the User-Agent says the software is (``USER_AGENT`` in settings.py is :func:`default`)
PRODUCT = "newsspider"
COMMENT = "Sina Finance news archiver"


def package_version() -> str:
    """The installed version (pyproject.toml's), without importing the package."""
    try:
        return version("newsspider")
    except PackageNotFoundError:
        return "0+unknown"


def default() -> str:
    """``newsspider/0.2.0 (Sina Finance news archiver)``."""
    return f"{PRODUCT}/{package_version()} ({COMMENT})"


def with_contact(contact: str) -> str:
    """``newsspider/0.2.0 (Sina Finance news archiver; +mailto:me@example.org)``: the ``+``
    marks how to reach the operator, as crawlers' User-Agents conventionally do."""
    value = " ".join(contact.split())  # no line breaks into a header
    if "@" in value and ":" not in value:
        value = f"mailto:{value}"
    return f"{PRODUCT}/{package_version()} ({COMMENT}; +{value})"


def install(settings: Any) -> None:
    """The project's User-Agent, with ``NEWSSPIDER_CONTACT`` if given (called by the add-on),
    unless a ``USER_AGENT`` was chosen (in a project's settings, or with ``-s``): Scrapy's own
    default is the only one replaced."""
    if (settings.getpriority("USER_AGENT") or 0) > 0:
        return  # the user chose the whole User-Agent
    contact = (settings.get("NEWSSPIDER_CONTACT") or "").strip()
    settings.set("USER_AGENT", with_contact(contact) if contact else default(), priority="addon")
