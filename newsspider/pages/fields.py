"""Page objects declare the Article's fields as methods, as web-poet's ``@field`` does.

Why our own and not web-poet's: web-poet's ``@field`` turns each method into a property and
brings attrs, andi, url-matcher and its page-input types with it (and an async ``to_item``),
for the one thing used here: a list of the methods that make the item. The page objects call
each other's field methods (``keywords()`` reads ``title()``) and subclasses override them, so
this decorator only marks a method and leaves it a method; :func:`fields_of` lists the marked
ones in declaration order (a base class's first, a subclass's override keeping its place), and
``Page.to_article`` assembles them. Plain functions over lxml: nothing at import, nothing per
call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

_MARK = "__newsspider_field__"
F = TypeVar("F", bound=Callable[..., Any])


@overload
def field(method: F) -> F: ...
@overload
def field(*, into: tuple[str, ...]) -> Callable[[F], F]: ...


def field(method: F | None = None, *, into: tuple[str, ...] | None = None) -> Any:
    """Mark a page object method as the source of Article fields: ``@field`` for the field of
    the method's name, ``@field(into=("source", "source_url"))`` for a method whose tuple fills
    several (one lookup on the page gives both), or a field whose name the page object uses
    otherwise (``url`` is the page's own URL; the Article's is the canonical one)."""

    def mark(fn: F) -> F:
        setattr(fn, _MARK, into or ())
        return fn

    return mark(method) if method is not None else mark


@functools.cache
def fields_of(cls: type) -> dict[str, tuple[str, ...]]:
    """Method name -> the Article fields it fills, for every field ``cls`` declares or
    inherits, in declaration order (base classes first). An override without ``@field`` is
    still the field (the name was declared by the class it overrides), and a bare ``@field``
    on an override fills what the overridden method filled."""
    found: dict[str, tuple[str, ...]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            into = getattr(value, _MARK, None)
            if into is not None:  # a bare ``@field`` override keeps what it overrides fills
                found[name] = into or found.get(name) or (name,)
    return found


def declared_fields(cls: type) -> list[str]:
    """The Article fields a page object class fills, in order."""
    return [name for into in fields_of(cls).values() for name in into]
