"""The neutral body package stays neutral, and page objects stay off the archive.

Why: extraction must not depend on the output format (#16). ``newsspider.markup`` sits below
both ``newsspider.pages`` and ``newsspider.archive``; an import of either from it, or of the
archive from a page object, would tie them together again. Read from the source (every
``import``/``from`` statement, at any depth), so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "newsspider"


def imported(folder: str) -> list[tuple[str, str]]:
    """(file, module) for every absolute import under ``newsspider/<folder>``."""
    found = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((path.name, node.module))
            elif isinstance(node, ast.Import):
                found.extend((path.name, alias.name) for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("markup", ("newsspider.pages", "newsspider.archive", "scrapy", "twisted")),
        ("pages", ("newsspider.archive", "scrapy", "twisted")),
    ],
)
def test_no_import_climbs(folder: str, forbidden: tuple[str, ...]) -> None:
    bad = [
        (name, module)
        for name, module in imported(folder)
        if any(module == f or module.startswith(f + ".") for f in forbidden)
    ]
    assert bad == []
    assert imported(folder)  # the walk found the package's imports at all
