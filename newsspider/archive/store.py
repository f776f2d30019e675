"""Writing an article into an output folder: path, bytes, index, journal, in that order."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from newsspider.archive.channels import Channel, load_channels
from newsspider.archive.images import FolderCache
from newsspider.archive.index import Index, Record, finish_temp, write_temp
from newsspider.archive.names import name_stem, original_stem, post_file_name, with_suffix
from newsspider.archive.post import Post, normalize_title, relink_images, render, rfc1123
from newsspider.article import Article
from newsspider.testhooks import crash_point

IMAGE_MODES = ("local", "remote", "off")


class UnsafePostPath(OSError):
    """A post path that would leave the output folder: never written (an ``OSError``, so the
    archive pipeline reports it as a post that could not be written, with this message)."""


@dataclass
class Staged:
    """A post whose bytes wait under a temp name for its claim's commit (:meth:`Archive.stage`)."""

    rec: Record
    key: str
    target: Path
    tmp: Path | None  # None: nothing to write (the file already holds these bytes)
    status: str
    new_file: bool


@dataclass(frozen=True)
class Saved:
    """What happened to one article: ``archived`` (new), ``updated``, ``unchanged``, or
    ``adopted`` (an imported post now known by its URL, its bytes left alone)."""

    status: str
    path: str
    key: str


def article_key(article: Article) -> str:
    return article.doc_id or article.url


def post_date(article: Article, known: str, now: float) -> str:
    """FORMAT.md "date": create_at, then the roll item's ctime, then the page date, then the time
    first archived (kept in the index, so a later fetch gives the same bytes)."""
    if article.created_at is not None:
        return rfc1123(article.created_at)
    if article.roll_ctime:
        return rfc1123(float(article.roll_ctime))
    if article.published is not None:
        return rfc1123(article.published)
    return known or rfc1123(now)


class Archive:
    """One output folder. Knows nothing of Scrapy: pipelines and tools call :meth:`save`."""

    def __init__(
        self,
        output: str | Path,
        *,
        channels: dict[str, Channel] | None = None,
        images: str = "local",
        image_prefix: str = "/",
        compact: bool = False,
        fsync: bool = False,
        refresh: bool = False,
        index: Index | None = None,
    ) -> None:
        """``index``: a connection the caller owns and closes (a crawl's one connection,
        shared with its spider and images pipeline), rather than one of the archive's own."""
        if images not in IMAGE_MODES:
            raise ValueError(f"images must be one of {', '.join(IMAGE_MODES)}, not {images!r}")
        self.root = Path(output)
        self.root.mkdir(parents=True, exist_ok=True)
        self.channels = channels if channels is not None else load_channels()
        self.images = images
        self.image_prefix = image_prefix.rstrip("/") + "/"
        self.compact = compact
        self.fsync = fsync
        #: rewrite imported posts too (otherwise their original bytes are kept)
        self.refresh = refresh
        self._owns_index = index is None
        self.index = Index(self.root) if index is None else index
        self._folders = FolderCache(
            self.root, "_posts", lambda why: UnsafePostPath(f"post path leaves _posts: {why}")
        )

    def close(self) -> None:
        if self._owns_index:
            self.index.close()

    def channel(self, key: str) -> Channel:
        try:
            return self.channels[key]
        except KeyError:
            raise ValueError(
                f"unknown channel {key!r} (known: {', '.join(sorted(self.channels))})"
            ) from None

    def local_url(self, rel_path: str) -> str:
        """``images/x/y.jpg`` -> ``/images/x/y.jpg`` (or under the configured prefix)."""
        return self.image_prefix + rel_path

    def post_text(self, article: Article, channel: Channel, date: str) -> str:
        body = article.body  # the post body, as the page object rendered it
        head = article.headimg
        if self.images == "local" and article.local_images:
            links = {u: self.local_url(p) for u, p in article.local_images.items()}
            body = relink_images(body, links)
            head = links.get(head, head)
        post = Post(
            title=normalize_title(article.title),
            categories=channel.categories,
            image=head,
            author=channel.author,
            date=date,
            body=body,
        )
        return render(post, compact=self.compact)

    def _choose_path(self, article: Article, channel: Channel, key: str) -> str:
        folder = "/".join(("_posts", *channel.categories))
        fallback = article.doc_id or hashlib.sha1(key.encode()).hexdigest()[:12]
        stem = name_stem(article.title, fallback)
        path = f"{folder}/{post_file_name(stem)}"
        holder = self.index.holder_of(path)
        if (holder is None and not (self.root / path).exists()) or holder == key:
            return path
        suffix = article.doc_id or hashlib.sha1(key.encode()).hexdigest()[:12]
        return f"{folder}/{post_file_name(with_suffix(stem, suffix))}"

    def _check_contained(self, path: str) -> None:
        """A post path is one safe file name inside its category folder. The name rules make it
        so; this makes it a checked property (like ``store_image``) rather than a hope: a path
        that would resolve outside ``<output>/_posts`` is refused before anything is written.
        Each folder is made and resolved once per run (:class:`FolderCache`), not per post."""
        name = path.rsplit("/", 1)[-1]
        if "\0" in path or name.startswith((".", "_")):
            raise UnsafePostPath(f"post path {path!r} is hidden from Hexo")
        self._folders.target(path)

    def _imported_at(self, article: Article, channel: Channel) -> Record | None:
        """An imported post (no URL yet) at the path this article's title gives, under the
        fixed file-name rule or the original generator's: the archive's own post of it."""
        folder = "/".join(("_posts", *channel.categories))
        stems = [name_stem(article.title, ""), original_stem(article.title)]
        if article.doc_id and stems[0]:
            # a post ``index check --repair`` adopted from disk after its row was lost may
            # carry the doc id suffix this archive gave it
            stems.append(with_suffix(stems[0], article.doc_id))
        for stem in dict.fromkeys(stems):
            if not stem:
                continue
            rec = self.index.by_path(f"{folder}/{post_file_name(stem)}")
            if rec is not None and rec.status == "imported" and not rec.url:
                return rec
        return None

    def _adopt(self, imported: Record, key: str) -> Record:
        """Re-key an imported record by the article's key, keeping its path and its history."""
        self.index.delete(imported.key)
        imported.key = key
        return imported

    def mark_gone(self, key: str, reason: str, *, now: float | None = None) -> bool:
        """Sina no longer serves an archived article: its post stays, the index says ``gone``."""
        return self.index.mark_gone(key, reason, now=now)

    def mark_failed(self, key: str, url: str, channel: str, reason: str, *,
                    doc_id: str = "") -> Record | None:  # fmt: skip
        """Still failing after its retries: recorded ``failed`` (:meth:`Index.mark_failed`)."""
        return self.index.mark_failed(key, url, channel, reason, doc_id=doc_id)

    def save(self, article: Article, *, now: float | None = None) -> Saved:
        """Write ``article``'s post and record it: :meth:`stage`, the claim committed, then
        :meth:`finish` (at once; a crawl's pipeline finishes after the batch's commit)."""
        staged = self.stage(article, now=now)
        if isinstance(staged, Saved):
            return staged
        if self.index.batching:
            try:
                self.index.commit()  # the path's claim, before the file exists
            except BaseException:
                self.discard(staged)
                raise
        return self.finish(staged)

    def _lookup(self, article: Article) -> tuple[str, Record | None]:
        """The article's key and record: by its key, else by its URL (the record's key)."""
        key = article_key(article)
        rec = self.index.get(key)
        if rec is None and article.url:
            rec = self.index.by_url(article.url)
            if rec is not None:
                key = rec.key
        return key, rec

    def claim(self, article: Article, *, now: float | None = None) -> None:
        """Claim the post's path now (``pending``), if it has none yet: :meth:`stage` then
        finds it. Why: a crawl claims in the order the spider gives the articles, before their
        images are fetched on worker threads; a claim made when they are done would give two
        articles with one title their names in whatever order the threads finished."""
        key, rec = self._lookup(article)
        if rec is not None and (rec.path or rec.status == "imported"):
            return
        channel = self.channel(rec.channel if rec and rec.channel else article.channel)
        if rec is None and self._imported_at(article, channel) is not None:
            return  # stage() adopts it
        self._claim_path(article, channel, key, rec, rfc1123(time.time() if now is None else now))

    def _claim_path(self, article: Article, channel: Channel, key: str, rec: Record | None,
                    stamp: str) -> Record:  # fmt: skip
        """Choose the post's path and record it ``pending`` before its file exists."""
        path = self._choose_path(article, channel, key)
        self._check_contained(path)
        if rec is None:
            rec = Record(key=key, first_archived=stamp, channel=channel.key)
        rec.path, rec.first_archived = path, rec.first_archived or stamp
        rec.channel = rec.channel or channel.key
        rec.status = "pending"  # reserve the path before the file exists: crash-safe
        self.index.put(rec, journal=False)
        return rec

    def stage(self, article: Article, *, now: float | None = None) -> Saved | Staged:
        """Everything up to the post's file: the record looked up (or an imported post
        adopted), the path claimed in the index (``pending``), the bytes written under a temp
        name. :meth:`finish` renames them into place once the claim is committed, so a kill at
        any point leaves either no file or a file its row names (FORMAT.md's crash rule).
        An imported post (kept as it is) is settled here: a :class:`Saved`."""
        now = time.time() if now is None else now
        key, rec = self._lookup(article)
        if rec is None:
            imported = self._imported_at(article, self.channel(article.channel))
            if imported is not None:
                rec = self._adopt(imported, key)
        if rec is not None and rec.status == "imported" and not self.refresh:
            return self._record_imported(rec, article)
        channel = self.channel(rec.channel if rec and rec.channel else article.channel)
        date = post_date(article, rec.date if rec else "", now)
        data = self.post_text(article, channel, date).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        stamp = rfc1123(now)
        if rec is None or not rec.path:  # new, or only known as failed so far
            rec = self._claim_path(article, channel, key, rec, stamp)
        assert rec.path is not None
        target = self.root / rec.path
        try:
            existing: bytes | None = target.read_bytes()
        except FileNotFoundError:
            existing = None
        tmp = None
        if existing == data:
            status = "unchanged"
        else:
            tmp = write_temp(target, data, fsync=self.fsync)
            status = "archived" if rec.status in ("pending", "") or existing is None else "updated"
        rec.url = article.url or rec.url
        rec.doc_id = article.doc_id or rec.doc_id
        rec.content_hash = digest
        rec.date = date
        rec.title = normalize_title(article.title)
        rec.published = article.created_at.isoformat() if article.created_at else (
            article.published.isoformat() if article.published else "")  # fmt: skip
        rec.source = article.source
        rec.editor = article.editor
        rec.keywords = list(article.keywords)
        rec.images = list(article.body_images)
        rec.local_images = dict(article.local_images)
        rec.failed_images = dict(article.failed_images)
        rec.set_derived(data)  # body, headimg and text for export and search
        if article.roll_mtime is not None:
            rec.roll_mtime = article.roll_mtime
        rec.last_archived = stamp
        rec.status = "archived"
        rec.reason = ""
        rec.template = article.family or rec.template
        return Staged(rec, key, target, tmp, status, existing is None and tmp is not None)

    def finish(self, staged: Staged) -> Saved:
        """Rename the staged bytes into place and write the row and its journal line (call it
        once the claim is committed)."""
        rec = staged.rec
        assert rec.path is not None
        if staged.tmp is not None:
            finish_temp(staged.tmp, staged.target)
            staged.tmp = None
        try:
            self.index.put(rec)
        except BaseException:
            # the row and its journal line could not be written (a full disk): a new post
            # without them would be a post nobody knows of; the reservation stays, so the next
            # run writes it at this same path
            if staged.new_file:
                staged.target.unlink(missing_ok=True)
            raise
        crash_point("post")  # test-only: a kill right after a post and its row are written
        return Saved(staged.status, rec.path, staged.key)

    def discard(self, staged: Staged) -> None:
        """A staged post that will not be finished (its claim's commit failed)."""
        if staged.tmp is not None:
            staged.tmp.unlink(missing_ok=True)
            staged.tmp = None

    def _record_imported(self, rec: Record, article: Article) -> Saved:
        """Note the URL and doc id of an imported post without touching its bytes (FORMAT.md:
        the archive's post stays as it is unless the user asks for ``--refresh``)."""
        assert rec.path is not None
        adopted = not rec.url
        rec.url = article.url or rec.url
        rec.doc_id = article.doc_id or rec.doc_id
        if article.roll_mtime is not None:
            rec.roll_mtime = article.roll_mtime
        self.index.put(rec)
        return Saved("adopted" if adopted else "unchanged", rec.path, rec.key)
