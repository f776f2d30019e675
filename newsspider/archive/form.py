"""The form an archive is written in, recorded once so that it is never silently mixed.

Why: two options change the bytes of every post without changing what an article is: the body
form (``original``, or ``compact`` with ``--compact-body``) and how images are linked (``local``
copies under an image URL prefix, ``remote`` Sina URLs, or ``off``: nothing downloaded). A
``fetch`` run without ``--compact-body`` into a compact archive used to write original-form posts
beside compact ones, and Hexo then showed half the site with Sina's markup as code blocks.

So the first post written into an output folder records the form in
``<output>/.newsspider/form.json``; later runs given no such option use the recorded form, and an
explicit option that contradicts it is refused (:class:`FormConflict`, exit 2) with the way to
convert the archive. An archive made before this records its form at its next run, inferred from
the posts it holds (:func:`infer_form`). ``newsspider site init`` records ``compact`` + ``local``
before any post exists.

No Scrapy here: the pipelines, the ``newsspider`` command and the converters all call
:func:`resolve_form` with plain values (``None`` = the option was not given).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from newsspider.archive.index import STATE_DIR, atomic_write
from newsspider.archive.post import compact_body
from newsspider.archive.postread import body_span, linked_images
from newsspider.errors import ArchiveDamaged, UsageError

FORM_NAME = "form.json"
BODY_FORMS = ("original", "compact")
IMAGE_MODES = ("local", "remote", "off")
#: what a run uses when neither an option nor the archive says otherwise (FORMAT.md defaults)
DEFAULT_BODY = "original"
DEFAULT_IMAGES = "local"
DEFAULT_PREFIX = "/"
FORM_VERSION = 1


class FormConflict(UsageError):
    """An explicit option contradicts the form the archive is written in (exit 2)."""


@dataclass(frozen=True)
class Form:
    """How the posts of one archive are written.

    ``origin`` says where the record came from (``first write``, ``inferred``, ``site init``,
    ``relink``...): for a reader of ``form.json``, not for any decision."""

    body: str = DEFAULT_BODY
    images: str = DEFAULT_IMAGES
    image_prefix: str = DEFAULT_PREFIX
    origin: str = "first write"

    @property
    def compact(self) -> bool:
        return self.body == "compact"

    def to_json(self) -> str:
        data = {"version": FORM_VERSION, **asdict(self)}
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def form_path(output: str | Path) -> Path:
    return Path(output) / STATE_DIR / FORM_NAME


def normalize_prefix(prefix: str) -> str:
    """``/blog`` and ``/blog/`` are one prefix (the archive adds the slash)."""
    return prefix.rstrip("/") + "/"


def read_form(output: str | Path) -> Form | None:
    """The recorded form, or ``None`` when there is none. A record that cannot be read is an
    :class:`ArchiveDamaged` (exit 2): guessing would risk the mixing this file prevents."""
    path = form_path(output)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchiveDamaged(f"{path}: cannot be read ({exc})") from None
    try:
        data = json.loads(raw)
        form = Form(
            body=str(data["body"]),
            images=str(data["images"]),
            image_prefix=normalize_prefix(str(data.get("image_prefix") or DEFAULT_PREFIX)),
            origin=str(data.get("origin") or ""),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveDamaged(
            f"{path}: not a form record ({type(exc).__name__}: {exc}); delete it and the next "
            "run records the form again from the posts the archive holds"
        ) from None
    if form.body not in BODY_FORMS or form.images not in IMAGE_MODES:
        raise ArchiveDamaged(
            f"{path}: unknown body form {form.body!r} or image mode {form.images!r}; delete it "
            "and the next run records the form again from the posts the archive holds"
        )
    return form


def write_form(output: str | Path, form: Form) -> None:
    """Record ``form`` (atomically: a reader never sees half a record)."""
    path = form_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, form.to_json().encode("utf-8"))


# --- inference, for archives written before the form was recorded -------------------------


@dataclass(frozen=True)
class Inferred:
    """What the posts say; ``None`` where they do not tell."""

    body: str | None = None
    images: str | None = None
    image_prefix: str | None = None


def _written_posts(root: Path) -> Iterator[tuple[Path, list[str], dict[str, str]]]:
    """(post file, image URLs, local images) of every post this project wrote. Imported posts
    keep the original archive's bytes whatever the options, so they tell nothing. Read through
    a read-only connection: inferring must not create or upgrade an index."""
    db = root / STATE_DIR / "index.sqlite3"
    if db.is_file():
        try:
            con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=30)
            try:
                rows = con.execute(
                    "SELECT path, images, local_images FROM articles WHERE path IS NOT NULL "
                    "AND status IN ('archived', 'gone', 'failed') ORDER BY key"
                ).fetchall()
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise ArchiveDamaged(
                f"{db}: cannot be read to infer the archive's form ({exc}); run "
                "`newsspider index check --repair`"
            ) from None
        for path, images, local in rows:
            try:
                yield root / path, list(json.loads(images)), dict(json.loads(local))
            except (ValueError, TypeError):
                yield root / path, [], {}
        return
    posts = root / "_posts"
    if posts.is_dir():  # posts but no index: only the body form can be read from them
        for post in sorted(posts.rglob("*.md")):
            yield post, [], {}


def _images_attempted(root: Path) -> bool:
    """Whether any image download was ever tried (a remote archive whose images all failed
    is still not ``off``)."""
    db = root / STATE_DIR / "index.sqlite3"
    if not db.is_file():
        return False
    try:
        con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute("SELECT 1 FROM images LIMIT 1").fetchone() is not None
        finally:
            con.close()
    except sqlite3.Error:
        return False


def infer_form(output: str | Path) -> Inferred:
    """The form of the posts already in ``output``, as far as they show it.

    Body: a post whose body holds a whitespace-only line (outside ``<pre>``/``<textarea>``) is
    in the original form; posts that all lack one are compact (Sina bodies always have blank
    lines in the original form: between paragraphs, before the QR block). Images: a post that
    links a downloaded image by its local path says ``local`` (and the prefix before
    ``images/``); one that links a downloaded image by its URL says ``remote``; posts with images
    of which none was ever tried say ``off``."""
    root = Path(output)
    saw_post = saw_blank = False
    local_prefix: str | None = None
    saw_remote_link = saw_images = saw_download = False
    for post, images, local in _written_posts(root):
        try:
            text = post.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # `index check` reports it; it says nothing about the form
        span = body_span(text)
        if span is not None:
            segment = text[span[0] : span[1]]
            saw_post = True
            if not saw_blank and compact_body(segment) != segment:
                saw_blank = True
        saw_images = saw_images or bool(images)
        saw_download = saw_download or bool(local)
        if local and local_prefix is None:
            srcs = linked_images(text)
            for url, rel in local.items():
                linked = [s for s in srcs if s.endswith("/" + rel) or s == rel]
                if linked:
                    local_prefix = normalize_prefix(linked[0][: -len(rel)])
                    break
                if url in srcs:
                    saw_remote_link = True
        if saw_blank and local_prefix is not None:
            break
    saw_download = saw_download or _images_attempted(root)
    body = ("original" if saw_blank else "compact") if saw_post else None
    if local_prefix is not None:
        return Inferred(body, "local", local_prefix)
    if saw_remote_link:
        return Inferred(body, "remote", None)
    if saw_images and not saw_download:
        return Inferred(body, "off", None)
    return Inferred(body, None, None)


# --- deciding a run's form ------------------------------------------------------------------


def _conflict(output: Path, recorded: Form, body: str | None, images: str | None,
              prefix: str | None) -> str:  # fmt: skip
    """The refusal for the first option that contradicts ``recorded``, or ``""``."""
    where = f"{output} holds posts with {_describe(recorded)} (recorded in {form_path(output)})"
    if body is not None and body != recorded.body:
        if recorded.body == "original":
            return (
                f"{where}; --compact-body would mix two body forms in one archive. Convert the "
                f"archive first: `newsspider relink --compact-body -o {output}` rewrites every "
                "post in the compact form and records it; later runs are compact with or "
                "without the option"
            )
        return (
            f"{where}; NEWSSPIDER_COMPACT_BODY=false would mix two body forms in one archive, "
            "and a compact archive cannot be converted back (the blank lines the original form "
            "keeps are gone from its posts): crawl without that setting, or into a new output "
            "folder and re-fetch"
        )
    if images is not None and images != recorded.images:
        return (
            f"{where}; --images {images} would mix two image forms in one archive. Convert the "
            f"archive first: `newsspider relink --images {images} -o {output}` relinks every "
            "post (fetching nothing) and records the new mode"
            + (
                "; images never downloaded are fetched by a later crawl with --refresh"
                if recorded.images == "off" and images == "local"
                else ""
            )
        )
    mode = images or recorded.images
    if prefix is not None and mode == "local" and normalize_prefix(prefix) != recorded.image_prefix:
        return (
            f"{where}; image prefix {normalize_prefix(prefix)!r} would link new posts' images "
            f"elsewhere than the others'. Convert the archive first: `newsspider relink --images "
            f"local --image-prefix {normalize_prefix(prefix)} -o {output}`"
        )
    return ""


def _describe(form: Form) -> str:
    images = {"local": f"local images under {form.image_prefix!r}", "remote": "remote images",
              "off": "images off (none downloaded)"}[form.images]  # fmt: skip
    return f"the {form.body} body form and {images}"


@dataclass(frozen=True)
class Resolved:
    """A run's form, and whether it still has to be recorded at the run's first post."""

    form: Form
    recorded: bool


def resolve_form(
    output: str | Path,
    *,
    body: str | None = None,
    images: str | None = None,
    image_prefix: str | None = None,
) -> Resolved:
    """The form a run writes ``output`` in. ``body``/``images``/``image_prefix`` are the run's
    explicit options, ``None`` where not given.

    Recorded form: used where no option is given; a contradicting option raises
    :class:`FormConflict`. No record but posts: the form is inferred from them, checked the same
    way and recorded now (the posts already fix it). Neither: options, then defaults; recorded
    by :func:`record_first_write` when the first post is written."""
    if body is not None and body not in BODY_FORMS:
        raise UsageError(f"body form must be one of {', '.join(BODY_FORMS)}, not {body!r}")
    if images is not None and images not in IMAGE_MODES:
        raise UsageError(f"images must be one of {', '.join(IMAGE_MODES)}, not {images!r}")
    root = Path(output)
    recorded = read_form(root)
    if recorded is None:
        inferred = infer_form(root)
        if inferred.body is None and inferred.images is None:
            form = Form(
                body=body or DEFAULT_BODY,
                images=images or DEFAULT_IMAGES,
                image_prefix=normalize_prefix(image_prefix or DEFAULT_PREFIX),
            )
            return Resolved(form, recorded=False)
        recorded = Form(
            body=inferred.body or body or DEFAULT_BODY,
            images=inferred.images or images or DEFAULT_IMAGES,
            image_prefix=normalize_prefix(inferred.image_prefix or image_prefix or DEFAULT_PREFIX),
            origin="inferred from the posts",
        )
        problem = _conflict(root, recorded, body, images, image_prefix)
        if problem:
            raise FormConflict(problem)
        with contextlib.suppress(OSError):  # an unwritable folder: refused by the run's checks
            write_form(root, recorded)
        return Resolved(recorded, recorded=True)
    problem = _conflict(root, recorded, body, images, image_prefix)
    if problem:
        raise FormConflict(problem)
    return Resolved(recorded, recorded=True)


def record_first_write(output: str | Path, form: Form) -> None:
    """Record ``form`` unless a record exists: called just before a run's first post is
    written (a run that writes nothing leaves the folder free for any form)."""
    if form_path(output).exists():
        return
    write_form(output, form)


def record_form(output: str | Path, *, origin: str, body: str | None = None,
                images: str | None = None, image_prefix: str | None = None) -> Form:  # fmt: skip
    """Record a conversion (``relink``) or a site's choice (``site init``): the given fields
    replace the recorded (or inferred) ones."""
    root = Path(output)
    current = read_form(root)
    if current is None:
        inferred = infer_form(root)
        current = Form(
            body=inferred.body or DEFAULT_BODY,
            images=inferred.images or DEFAULT_IMAGES,
            image_prefix=inferred.image_prefix or DEFAULT_PREFIX,
        )
    form = Form(
        body=body or current.body,
        images=images or current.images,
        image_prefix=normalize_prefix(image_prefix) if image_prefix else current.image_prefix,
        origin=origin,
    )
    write_form(root, form)
    return form


# --- original -> compact --------------------------------------------------------------------


@dataclass
class CompactReport:
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    missing: list[str] = field(default_factory=list)


def compact_post(text: str) -> str:
    """A post in the original body form, in the compact form: the same bytes a crawl with
    ``--compact-body`` writes. Brace escaping neither makes nor removes a whitespace-only line
    or a ``<pre>``, so compacting the escaped post equals escaping the compacted one."""
    span = body_span(text)
    if span is None:
        return text
    start, end = span
    return text[:start] + compact_body(text[start:end]) + text[end:]


def compact_archive(output: str | Path, *, fsync: bool = False) -> CompactReport:
    """Rewrite every post this project wrote in the compact body form, keep the index's hashes
    and derived columns in step, and record the compact form. Imported posts keep their bytes
    (as a crawl keeps them). There is no way back: the removed lines are not kept anywhere."""
    from newsspider.archive.index import Index

    root = Path(output)
    recorded = read_form(root)
    report = CompactReport()
    index = Index(root)
    try:
        for rec in list(index.records()):
            if not rec.path or rec.status in ("pending", "imported"):
                report.skipped += 1
                continue
            target = root / rec.path
            try:
                old = target.read_bytes()
            except FileNotFoundError:
                report.missing.append(rec.path)
                continue
            new = compact_post(old.decode("utf-8")).encode("utf-8")
            if new != old:
                atomic_write(target, new, fsync=fsync)
                report.changed += 1
            else:
                report.unchanged += 1
            digest = hashlib.sha256(new).hexdigest()
            if digest != rec.content_hash:
                rec.content_hash = digest
                rec.set_derived(new)
                index.put(rec)
    finally:
        index.close()
    if recorded is None or recorded.body != "compact":
        record_form(root, origin="relink --compact-body", body="compact")
    return report


def explicit_bool(value: object) -> bool | None:
    """A setting's value as given (``-s NAME=VALUE``, a Python value, or unset), read as a
    boolean the way Scrapy's ``getbool`` reads it; ``None`` when unset."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"NEWSSPIDER_COMPACT_BODY: {value!r} is not a boolean")


def settings_form(output: str | Path, images: object, compact: object,
                  prefix: object) -> Resolved:  # fmt: skip
    """:func:`resolve_form` from the raw values of ``NEWSSPIDER_IMAGES``,
    ``NEWSSPIDER_COMPACT_BODY`` and ``NEWSSPIDER_IMAGE_URL_PREFIX`` (``None``: not set)."""
    flag = explicit_bool(compact)
    return resolve_form(
        output,
        body=None if flag is None else ("compact" if flag else "original"),
        images=None if images in (None, "") else str(images),
        image_prefix=None if prefix in (None, "") else str(prefix),
    )


__all__ = [
    "BODY_FORMS",
    "IMAGE_MODES",
    "CompactReport",
    "Form",
    "FormConflict",
    "Inferred",
    "Resolved",
    "compact_archive",
    "compact_post",
    "explicit_bool",
    "form_path",
    "infer_form",
    "read_form",
    "record_first_write",
    "record_form",
    "resolve_form",
    "settings_form",
    "write_form",
]
