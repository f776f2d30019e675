"""``newsspider relink``: switch an archive's posts between local and remote image links.

Nothing is fetched: what is downloaded is what the index's ``images`` table says (and the disk
confirms). The posts come out as a fresh crawl in that mode would write them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from newsspider.crawl.options import image_prefix


def register(add: Callable[..., Any], common: Callable[..., None]) -> None:
    p = add("relink", cmd_relink, "switch posts between local and remote image links (no fetch)")
    p.add_argument("--images", choices=("local", "remote", "off"),
                   help="local: link every downloaded image by its /images/... path; "
                   "remote: link every image by its original URL; off: as remote, and later "
                   "crawls download nothing")  # fmt: skip
    p.add_argument(
        "--compact-body",
        action="store_true",
        help="rewrite every post in the compact body form (there is no way back)",
    )
    p.add_argument("--output", "-o", metavar="DIR", help="output folder (default: output)")
    p.add_argument(
        "--image-prefix",
        metavar="URL",
        type=image_prefix,
        help="where the site serves images/: an http(s) URL or a path from the site's root "
        "(default: NEWSSPIDER_IMAGE_URL_PREFIX, else the archive's recorded prefix, else /); "
        "recorded for later relinks and crawls",
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
    from newsspider.archive.form import compact_archive, infer_form, read_form, record_form
    from newsspider.archive.relink import relink_archive
    from newsspider.crawl import options
    from newsspider.crawl.run import output_folder
    from newsspider.crawl.run import settings_for as _settings
    from newsspider.errors import EXIT_FAILED, EXIT_OK, UsageError

    if not args.images and not args.compact_body:
        raise UsageError("relink: give --images local|remote|off, --compact-body, or both")
    compact = args.compact_body
    args.compact_body = False  # the conversion, not a crawl option for _settings
    settings = _settings(args)
    # an archive to relink must exist: a typo must not leave an empty folder behind
    output = options.existing_archive(output_folder(settings))
    configured = settings.get("NEWSSPIDER_IMAGE_URL_PREFIX")
    if configured:
        try:
            image_prefix(configured)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"NEWSSPIDER_IMAGE_URL_PREFIX: {exc}") from None
    # the prefix the posts link local copies under now: recorded by the last relink or crawl
    # (<output>/.newsspider/form.json), else what the posts show; kept unless one is given
    form = read_form(output)
    current = form.image_prefix if form is not None else infer_form(output).image_prefix
    prefix = args.image_prefix or configured or current or "/"
    fsync = settings.getbool("NEWSSPIDER_FSYNC")
    if compact:
        try:
            done = compact_archive(output, fsync=fsync)
        except (OSError, ValueError) as exc:
            raise UsageError(f"relink {output}: {exc}") from exc
        print(f"newsspider: compact body: rewrote {done.changed}, unchanged {done.unchanged}, "
              f"skipped {done.skipped}", file=sys.stderr)  # fmt: skip
        if not args.images:
            return EXIT_OK
    try:
        report = relink_archive(output, args.images, image_prefix=prefix, fsync=fsync,
                                old_prefixes=[current] if current else [])  # fmt: skip
        # later crawls link (and download) the way the posts now do (archive/form.py)
        record_form(output, origin=f"relink --images {args.images}", images=args.images,
                    image_prefix=prefix)  # fmt: skip
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
