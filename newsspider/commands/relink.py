"""``newsspider relink``: switch an archive's posts between local and remote image links.

Nothing is fetched: what is downloaded is what the index's ``images`` table says (and the disk
confirms). The posts come out as a fresh crawl in that mode would write them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("relink", cmd_relink, "switch posts between local and remote image links (no fetch)")
    p.add_argument("--images", required=True, choices=("local", "remote"),
                   help="local: link every downloaded image by its /images/... path; "
                   "remote: link every image by its original URL")  # fmt: skip
    p.add_argument("--output", "-o", metavar="DIR", help="output folder (default: output)")
    p.add_argument(
        "--image-prefix",
        metavar="URL",
        help="where the site serves images/ (default: NEWSSPIDER_IMAGE_URL_PREFIX, /)",
    )
    p.add_argument(
        "-s",
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="override a setting (NEWSSPIDER_IMAGE_URL_PREFIX, NEWSSPIDER_FSYNC)",
    )
    p.set_defaults(log_level="ERROR")


def cmd_relink(args: argparse.Namespace) -> int:
    from newsspider.archive.relink import relink_archive
    from newsspider.cli import EXIT_FAILED, EXIT_OK, UsageError, _settings

    settings = _settings(args)
    output = settings.get("NEWSSPIDER_OUTPUT") or "output"
    prefix = args.image_prefix or settings.get("NEWSSPIDER_IMAGE_URL_PREFIX") or "/"
    try:
        report = relink_archive(
            output, args.images, image_prefix=prefix, fsync=settings.getbool("NEWSSPIDER_FSYNC")
        )
    except (OSError, ValueError) as exc:
        raise UsageError(f"relink {output}: {exc}") from exc
    for path in report.missing:
        print(f"missing: {path}: the index names it, the disk does not hold it", file=sys.stderr)
    print(
        f"newsspider: relinked {report.changed}, unchanged {report.unchanged}, "
        f"skipped {report.skipped}, missing {len(report.missing)}",
        file=sys.stderr,
    )
    return EXIT_FAILED if report.missing else EXIT_OK
