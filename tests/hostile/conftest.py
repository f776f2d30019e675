"""The hostile-input suite's summary table (printed whatever ``-s`` says) and its ordering.

``tests/hostile`` is on ``sys.path`` for its own modules (pytest's prepend import mode), so
``hostilekit`` is importable here and in the test modules.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hostilekit import LEDGER

HERE = Path(__file__).resolve().parent


def pytest_plugin_registered(plugin: object, manager: pytest.PytestPluginManager) -> None:
    """Give the module name ``conftest`` back to ``tests/conftest.py``.

    Without an ``__init__.py`` here, pytest imports this file as the module ``conftest`` too,
    replacing the root one in ``sys.modules``; the test modules of ``tests/`` that pytest imports
    afterwards (``from conftest import PROJECT``) would get this one."""
    if getattr(plugin, "__file__", None) == __file__:
        root = manager.get_plugin(str(HERE.parent / "conftest.py"))
        if root is not None:
            sys.modules["conftest"] = root


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The whole-suite checks (one Hexo site over every post, the escape and partial-file
    totals) run after every crawl of the suite, wherever pytest put them."""
    last = [i for i in items if i.get_closest_marker("hostile_last")]
    if last:
        items[:] = [i for i in items if not i.get_closest_marker("hostile_last")] + last


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hostile_last: run after every other test")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not LEDGER.inputs and not LEDGER.crawls:
        return
    terminalreporter.section("hostile input summary")
    for line in LEDGER.table():
        terminalreporter.write_line(line)
    for what, found in (("escape", LEDGER.escapes), ("partial file", LEDGER.partial)):
        for item in found[:20]:
            terminalreporter.write_line(f"{what}: {item}")
