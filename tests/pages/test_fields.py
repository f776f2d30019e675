"""Page objects declare the Article's fields (``@field``), and each field method is right.

Why: ``Page.to_article`` assembles whatever fields a page object declares, so a field a family
forgets to declare, or declares under the wrong name, would silently leave an Article value
empty. Every page object must declare every page field, and on every saved corpus page each
declared method, called on its own, must give the ground truth (tests/data/corpus_truth.json).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from newsspider.article import Article
from newsspider.pages import FAMILIES, GenericPage, Probe, choose_family
from newsspider.pages.base import Page, decode_html, parse_html, strip_dataset_wrapper
from newsspider.pages.fields import declared_fields, field, fields_of

TESTS = Path(__file__).resolve().parents[1]
HTML = TESTS / "fixtures" / "corpus" / "html"
TRUTH = json.loads((TESTS / "data" / "corpus_truth.json").read_text("utf-8"))["pages"]
ARTICLES = sorted(n for n, t in TRUTH.items() if t.get("not_article") is None)
#: what the crawl fills in, not the page
CRAWL_FIELDS = {"channel", "roll_ctime", "roll_mtime", "local_images", "failed_images"}
PAGE_FIELDS = [f.name for f in dataclasses.fields(Article) if f.name not in CRAWL_FIELDS]
_SPACES = re.compile(r"\s+")


def norm(text: str) -> str:
    return _SPACES.sub(" ", text.replace("\u3000", " ").replace("\xa0", " ")).strip()


@pytest.mark.parametrize("cls", [*FAMILIES, GenericPage], ids=lambda c: c.__name__)
def test_every_page_object_declares_every_page_field(cls: type[Page]) -> None:
    declared = declared_fields(cls)
    assert sorted(declared) == sorted(PAGE_FIELDS)  # each once, none missing, none unknown


@pytest.mark.parametrize("cls", [*FAMILIES, GenericPage], ids=lambda c: c.__name__)
def test_an_override_of_a_field_says_so(cls: type[Page]) -> None:
    """A family that reads a field its own way marks the method ``@field`` too, so that the
    class body shows which fields it declares."""
    for klass in cls.__mro__:
        if not issubclass(klass, Page):
            continue
        for name, value in vars(klass).items():
            if name in fields_of(Page) or name in fields_of(cls):
                assert hasattr(value, "__newsspider_field__"), f"{klass.__name__}.{name}"


def _page(name: str) -> Page:
    truth = TRUTH[name]
    raw = (HTML / name).read_bytes()
    text = strip_dataset_wrapper(decode_html(raw)[0])
    root = parse_html(text.encode("utf-8"))
    family = choose_family(Probe(truth["url"], root))
    assert family is not None
    return family(truth["url"], raw, root=root)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _expected(truth: dict[str, Any], article_field: str) -> Any:
    return {"url": truth["canonical_url"]}.get(article_field, truth.get(article_field))


def _got(article_field: str, value: Any) -> Any:
    if isinstance(value, datetime) or value is None:
        return _iso(value)
    if article_field in ("title", "original_title"):
        return norm(value)
    return value


@pytest.mark.parametrize("name", ARTICLES)
def test_each_declared_field_gives_the_truth(name: str) -> None:
    truth = TRUTH[name]
    page = _page(name)
    checked = []
    for method, into in fields_of(type(page)).items():
        value = getattr(page, method)()
        values = dict(zip(into, value, strict=True)) if len(into) > 1 else {into[0]: value}
        for article_field, got in values.items():
            if article_field == "paragraphs":
                assert len(got) == truth["paragraph_count"], method
                assert norm(got[0]) == truth["first_paragraph"], method
                checked.append(article_field)
            elif article_field == "family":
                assert got == truth["family"]
                checked.append(article_field)
            elif _expected(truth, article_field) is not None or article_field in truth:
                assert _got(article_field, got) == _expected(truth, article_field), method
                checked.append(article_field)
    # the truth file has no body bytes and no download list: those are pinned by the golden
    # cases and tests/archive/test_post_body.py
    assert set(PAGE_FIELDS) - set(checked) <= {"body", "body_images"}
    # and the assembly is exactly the declared fields
    article = page.to_article()
    for method, into in fields_of(type(page)).items():
        value = getattr(page, method)()
        values = dict(zip(into, value, strict=True)) if len(into) > 1 else {into[0]: value}
        assert all(getattr(article, k) == v for k, v in values.items()), method


def test_field_marks_and_keeps_a_method() -> None:
    class Base:
        @field
        def a(self) -> int:
            return 1

        @field(into=("b", "c"))
        def pair(self) -> tuple[int, int]:
            return 2, 3

    class Child(Base):
        @field
        def pair(self) -> tuple[int, int]:  # an override keeps the base's Article fields
            return 4, 5

        @field
        def d(self) -> int:
            return 6

    assert Child().a() == 1 and Child().pair() == (4, 5)
    assert fields_of(Child) == {"a": ("a",), "pair": ("b", "c"), "d": ("d",)}
    assert declared_fields(Child) == ["a", "b", "c", "d"]
