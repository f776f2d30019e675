"""Switch an archive's posts between local and remote image links, without fetching anything.

``newsspider relink`` runs this. The result must be the bytes a fresh crawl in that mode would
write, so the same two operations :meth:`Archive.post_text` applies are applied to the post as it
is on disk: :func:`relink_images` on the body and the same mapping on headimg/thumbnail. Posts
are brace-escaped (``{`` -> ``&#123;``); every ``&#123;`` in a post this project wrote stands
for a ``{`` (the body serialiser keeps a literal ``&#123;`` as ``&amp;#123;``), so unescaping,
relinking and escaping again is exact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsspider.archive.images import ImageTable
from newsspider.archive.index import Index, Record, atomic_write
from newsspider.archive.post import escape_braces, relink_images
from newsspider.archive.postread import replace_image_values, split, unbrace


def link_prefix(image_prefix: str) -> str:
    """The prefix :class:`~newsspider.archive.store.Archive` puts before ``images/...``."""
    return image_prefix.rstrip("/") + "/"


def relink_post(text: str, mapping: dict[str, str]) -> str:
    """``text`` (a whole post, braces escaped) with every ``img@src`` and the headimg/thumbnail
    value found in ``mapping`` replaced. Nothing else changes, byte for byte."""
    parts = split(text) if mapping else None
    if parts is None:
        return text
    head, body = parts
    head = replace_image_values(head, mapping.get)
    body = escape_braces(relink_images(unbrace(body), mapping))
    return head + body


@dataclass
class RelinkReport:
    """What ``relink`` did; ``missing`` lists posts the index names but the disk lacks."""

    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    missing: list[str] = field(default_factory=list)


def links_for(
    rec: Record, table: ImageTable, mode: str, prefix: str, others: tuple[str, ...] = ()
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(mapping to apply, local_images, failed_images) for one article, from the images table.

    ``local`` links every image that is downloaded and on disk (what a crawl would link);
    ``remote`` (and ``off``) maps every local link this archive can have written back to its URL.
    ``others`` are prefixes earlier relinks linked with: their links are recognised too (a
    local link under an old prefix moves to ``prefix``, or back to its URL).
    """
    urls = list(dict.fromkeys(rec.images or []))
    rows = table.rows(urls)
    local = {u: r.path for u, r in rows.items() if table.on_disk(r) and r.path}
    failed = {u: (rec.failed_images or {}).get(u) or r.reason or "failed"
              for u, r in rows.items() if u not in local and r.status == "failed"}  # fmt: skip
    if mode == "local":
        mapping = {old + p: prefix + p for old in others for p in local.values()}
        mapping.update({u: prefix + p for u, p in local.items()})
    else:
        mapping = {old + r.path: u for old in others for u, r in rows.items() if r.path}
        mapping.update({prefix + r.path: u for u, r in rows.items() if r.path})
    return mapping, local, failed


def relink_archive(
    output: str | Path,
    mode: str,
    *,
    image_prefix: str = "/",
    fsync: bool = False,
    old_prefixes: Sequence[str] = (),
) -> RelinkReport:
    """Relink every post the index knows (imported posts keep their original bytes, as a crawl
    keeps them) and record the new content hash and image maps in the index.

    ``old_prefixes``: prefixes the posts may link local copies under (the archive's recorded
    one): those links are recognised too, so ``--images remote`` after a relink under
    ``https://cdn.example/`` needs no repeat of the prefix, and a local relink moves them."""
    if mode not in ("local", "remote", "off"):
        raise ValueError(f"mode must be local, remote or off, not {mode!r}")
    root = Path(output)
    index = Index(root)
    table = ImageTable(index)
    prefix = link_prefix(image_prefix)
    others = tuple(dict.fromkeys(link_prefix(p) for p in ["/", *old_prefixes]))
    others = tuple(p for p in others if p != prefix)
    report = RelinkReport()
    try:
        for rec in list(index.records()):
            if not rec.path or rec.status in ("pending", "imported"):
                report.skipped += 1
                continue
            target = root / rec.path
            if not target.is_file():
                report.missing.append(rec.path)
                continue
            mapping, local, failed = links_for(rec, table, mode, prefix, others)
            old = target.read_bytes()
            new = relink_post(old.decode("utf-8"), mapping).encode("utf-8")
            if new != old:
                atomic_write(target, new, fsync=fsync)
                report.changed += 1
            else:
                report.unchanged += 1
            digest = hashlib.sha256(new).hexdigest()
            if (digest, local, failed) != (rec.content_hash, rec.local_images, rec.failed_images):
                rec.content_hash = digest
                rec.local_images = local
                rec.failed_images = failed
                rec.set_derived(new)  # the indexed body links what the post now links
                index.put(rec)
    finally:
        index.close()
    return report
