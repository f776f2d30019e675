"""Spider arguments are checked in one place for every entry point: ``newsspider crawl``'s
options and ``scrapy crawl sina -a``'s arguments get the same checks and the same words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT, run_newsspider

from newsspider.crawl.options import CrawlArguments
from newsspider.errors import UsageError


def test_arguments_as_text_or_values_read_the_same() -> None:
    text = CrawlArguments.parse(channel="china, roll-stock", pages="3", limit="",
                                since="2024-01-02", refresh="1", template="generic")  # fmt: skip
    values = CrawlArguments.parse(channel=["china", "roll-stock"], pages=3, limit=None,
                                  since="2024-01-02", refresh=True, template="generic")  # fmt: skip
    assert text == values
    assert text.channels == ("china", "roll-stock") and text.pages == 3 and text.limit is None
    assert CrawlArguments.parse().channels == ("china",)  # the default channel


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"channel": "nope"}, "unknown channel 'nope' (known: "),
        ({"pages": "0"}, "--pages: '0' must be 1 or more"),
        ({"limit": "many"}, "--limit: 'many' is not a number"),
        ({"since": "2024-02-01", "until": "2024-01-01"}, "--since 2024-02-01 is after --until"),
        ({"since": "yesterday-ish"}, "--since: "),
        ({"template": "generic"}, "--template NAME needs --refresh"),
    ],
)
def test_each_refusal_is_one_usage_error(given: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        CrawlArguments.parse(**given)
    assert message in str(info.value)


def test_scrapy_crawl_and_newsspider_crawl_refuse_an_unknown_channel_alike(tmp_path: Path) -> None:
    cli = run_newsspider("crawl", "--channel", "nope", "-o", str(tmp_path / "cli"))
    assert cli.returncode == 2
    said = cli.stderr.strip().removeprefix("newsspider: error: ")
    assert said.startswith("unknown channel 'nope'")
    scrapy = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "sina", "-a", "channel=nope",
         "-s", f"NEWSSPIDER_OUTPUT={tmp_path / 'scrapy'}", "-s", "LOG_LEVEL=WARNING"],
        cwd=PROJECT, env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert scrapy.returncode == 1 and "Traceback" not in scrapy.stderr
    errors = [line for line in scrapy.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and errors[0].endswith(f"the crawl could not start: {said}")
    assert not (tmp_path / "scrapy").exists()
