"""Image paths, the URL -> path map, the image checks and relinking, without Scrapy.

FORMAT.md "Images" is the rule: ``images/<host>/<path>``, the detected format's extension, a hash
for a query string or a collision, a ``-`` before segments Hexo would skip, never outside
``images/``, and one path per URL for good.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from newsspider.archive.images import (
    ImageRejected,
    ImageTable,
    host_allowed,
    inspect_image,
    store_image,
)
from newsspider.archive.index import Index
from newsspider.archive.names import image_path, url_hash
from newsspider.archive.post import Post, render
from newsspider.archive.relink import relink_post

# --- images of every kind, made here so every byte is known ---------------------------------


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    return encode(Image.linear_gradient("L").resize(size).convert("RGB"), "JPEG", quality=90)


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    return encode(Image.new("RGBA", size, (10, 200, 30, 128)), "PNG")


def gif_animated(frames: int = 3) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", (20, 20), colours[i % 4]) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def webp(size: tuple[int, int] = (32, 32)) -> bytes:
    return encode(Image.new("RGB", size, (120, 10, 200)), "WEBP")


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A real PNG header claiming 10^10 pixels, with a tiny IDAT: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML_PAGE = b"<!DOCTYPE html><html><head><title>404</title></head><body>gone</body></html>"


# --- image_path ---------------------------------------------------------------------------------

U = "https://n.sinaimg.cn/finance/2021/photo.jpg"


@pytest.mark.parametrize(
    ("url", "fmt", "expected"),
    [
        (U, "JPEG", "images/n.sinaimg.cn/finance/2021/photo.jpg"),
        # the extension is the detected format's, not the URL's
        (U, "PNG", "images/n.sinaimg.cn/finance/2021/photo.png"),
        ("https://n.sinaimg.cn/a/b.JPEG", "JPEG", "images/n.sinaimg.cn/a/b.jpg"),
        ("https://n.sinaimg.cn/a/noext", "GIF", "images/n.sinaimg.cn/a/noext.gif"),
        ("https://n.sinaimg.cn/a/b.gif", "WEBP", "images/n.sinaimg.cn/a/b.webp"),
        ("https://n.sinaimg.cn/a/b.jpg", "MPO", "images/n.sinaimg.cn/a/b.jpg"),
        # Hexo skips names starting with _ or .: a - in front
        (
            "https://n.sinaimg.cn/finance/72219a70/20180103/_thumb_23666.png",
            "PNG",
            "images/n.sinaimg.cn/finance/72219a70/20180103/-_thumb_23666.png",
        ),
        ("https://n.sinaimg.cn/_dir/.hidden.png", "PNG", "images/n.sinaimg.cn/-_dir/-.hidden.png"),
        # the host is lower-cased, the port dropped
        ("http://N.SinaImg.CN:8080/x.png", "PNG", "images/n.sinaimg.cn/x.png"),
        # no path at all
        ("https://n.sinaimg.cn", "PNG", "images/n.sinaimg.cn/index.png"),
    ],
)
def test_image_path(url: str, fmt: str, expected: str) -> None:
    assert image_path(url, fmt) == expected


def test_query_string_adds_hash_of_whole_url_before_extension() -> None:
    url = "https://n.sinaimg.cn/a/b.jpg?size=big&x=1"
    digest = hashlib.sha1(url.encode()).hexdigest()[:8]
    assert url_hash(url) == digest
    assert image_path(url, "JPEG") == f"images/n.sinaimg.cn/a/b-{digest}.jpg"
    assert image_path(U, "JPEG", force_hash=True) == (
        f"images/n.sinaimg.cn/finance/2021/photo-{url_hash(U)}.jpg"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://n.sinaimg.cn/../../etc/passwd",
        "https://n.sinaimg.cn/a/%2e%2e/%2e%2e/%2e%2e/x.png",
        "https://n.sinaimg.cn/a/..%2f..%2f..%2fx.png",
        "https://n.sinaimg.cn/a\\..\\..\\x.png",
        "https://n.sinaimg.cn/./././x.png",
        "https://../x.png",
        "https://n.sinaimg.cn/a/%00/x.png",
    ],
)
def test_never_leaves_images(url: str, tmp_path: Path) -> None:
    rel = image_path(url, "PNG")
    assert rel.startswith("images/")
    parts = rel.split("/")
    assert all(p and p not in (".", "..") and not p.startswith(("_", ".")) for p in parts)
    assert "\\" not in rel and "\x00" not in rel
    base = (tmp_path / "images").resolve()
    assert (tmp_path / rel).resolve().is_relative_to(base)


def test_long_name_keeps_hash_and_extension() -> None:
    url = "https://n.sinaimg.cn/" + "图" * 300 + ".jpg?x=1"
    rel = image_path(url, "JPEG")
    name = rel.rsplit("/", 1)[1]
    assert name.endswith(f"-{url_hash(url)}.jpg")
    assert len(name.encode()) <= 200


def test_unsafe_characters_become_underscores() -> None:
    rel = image_path('https://n.sinaimg.cn/a b/{x}"<y>%25.png', "PNG")
    assert rel == "images/n.sinaimg.cn/a_b/-_x___y__.png"  # and then a - before the _


# --- the URL -> path map ------------------------------------------------------------------------


def test_same_url_same_path_and_later_collision_gets_hash(tmp_path: Path) -> None:
    index = Index(tmp_path)
    table = ImageTable(index)
    a = "https://n.sinaimg.cn/x/photo.jpg"
    b = "http://n.sinaimg.cn/x/photo.jpg"  # another URL, same path by the plain rule
    c = "https://n.sinaimg.cn/x/photo.gif"  # a JPEG too: meets the same path
    assert table.claim(a, "JPEG") == "images/n.sinaimg.cn/x/photo.jpg"
    assert table.claim(b, "JPEG") == f"images/n.sinaimg.cn/x/photo-{url_hash(b)}.jpg"
    assert table.claim(c, "JPEG") == f"images/n.sinaimg.cn/x/photo-{url_hash(c)}.jpg"
    # the same URL keeps its path, even if it later comes back in another format
    assert table.claim(a, "PNG") == "images/n.sinaimg.cn/x/photo.jpg"
    index.close()
    # and after a restart
    index = Index(tmp_path)
    table = ImageTable(index)
    assert table.claim(b, "JPEG") == f"images/n.sinaimg.cn/x/photo-{url_hash(b)}.jpg"
    index.close()


def test_collision_ignores_case_and_foreign_files(tmp_path: Path) -> None:
    index = Index(tmp_path)
    table = ImageTable(index)
    first = "https://n.sinaimg.cn/x/Photo.jpg"
    second = "https://n.sinaimg.cn/x/photo.jpg"
    assert table.claim(first, "JPEG") == "images/n.sinaimg.cn/x/Photo.jpg"
    # on a case-insensitive disk these would be one file
    assert table.claim(second, "JPEG") == f"images/n.sinaimg.cn/x/photo-{url_hash(second)}.jpg"
    # a file nobody claimed is not overwritten
    foreign = tmp_path / "images/n.sinaimg.cn/y/user.png"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"mine")
    url = "https://n.sinaimg.cn/y/user.png"
    assert table.claim(url, "PNG") == f"images/n.sinaimg.cn/y/user-{url_hash(url)}.png"
    assert foreign.read_bytes() == b"mine"
    index.close()


def test_failed_attempts_are_counted(tmp_path: Path) -> None:
    index = Index(tmp_path)
    table = ImageTable(index)
    url = "https://n.sinaimg.cn/x/broken.jpg"
    assert table.mark_failed(url, "corrupt") == 1
    assert table.mark_failed(url, "http-404") == 2
    row = table.get(url)
    assert row is not None and (row.status, row.attempts, row.reason) == ("failed", 2, "http-404")
    path = table.claim(url, "JPEG")
    store_image(tmp_path, path, b"bytes")
    table.mark_ok(url, nbytes=5, fmt="JPEG")
    assert table.local_paths([url, "https://n.sinaimg.cn/other.jpg"]) == {url: path}
    index.close()


def test_store_image_is_exact_atomic_and_contained(tmp_path: Path) -> None:
    data = gif_animated(4)
    written = store_image(tmp_path, "images/h/a.gif", data)
    assert written.read_bytes() == data
    assert [p.name for p in written.parent.iterdir()] == ["a.gif"], "no temp file left"
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (tmp_path / "images" / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ImageRejected, match="outside"):
        store_image(tmp_path, "images/evil/x.png", png())
    assert list(outside.iterdir()) == []


# --- what is kept -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fmt", "frames"),
    [(jpeg(), "JPEG", 1), (png(), "PNG", 1), (gif_animated(3), "GIF", 3), (webp(), "WEBP", 1)],
    ids=["jpeg", "png", "gif", "webp"],
)
def test_inspect_accepts_every_format(data: bytes, fmt: str, frames: int) -> None:
    found = inspect_image(data)
    assert (found.format, found.frames) == (fmt, frames)


@pytest.mark.parametrize(
    ("data", "reason", "kwargs"),
    [
        (b"", "empty", {}),
        (jpeg()[: len(jpeg()) // 2], "corrupt", {}),
        (HTML_PAGE, "not-an-image", {}),
        (png_bomb(), "too-many-pixels", {}),
        (png((2000, 1000)), "too-many-pixels", {"max_pixels": 1_000_000}),
        (encode(Image.new("RGB", (1, 1)), "GIF"), "tracking-pixel", {}),
        (encode(Image.new("RGB", (2, 2)), "PNG"), "tracking-pixel", {}),
        (SVG, "svg", {}),
        (png(), "svg", {"content_type": "image/svg+xml"}),
        (jpeg(), "too-large", {"max_bytes": 100}),
        (encode(Image.new("RGB", (8, 8)), "BMP"), "not-an-image", {}),
    ],
    ids=[
        "empty", "truncated", "html", "bomb", "pixel-cap", "pixel-1x1", "pixel-2x2", "svg",
        "svg-type", "byte-cap", "bmp",
    ],
)  # fmt: skip
def test_inspect_refuses(data: bytes, reason: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(ImageRejected) as info:
        inspect_image(data, **kwargs)  # type: ignore[arg-type]
    assert info.value.reason == reason


def test_inspect_leaves_pillow_globals_alone() -> None:
    import warnings

    before = (Image.MAX_IMAGE_PIXELS, list(warnings.filters))
    with pytest.raises(ImageRejected):
        inspect_image(png_bomb(20_000, 10_000))  # between Pillow's warning and error limits
    assert (Image.MAX_IMAGE_PIXELS, list(warnings.filters)) == before


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://n.sinaimg.cn/a.jpg", True),
        ("http://sinaimg.cn/a.jpg", True),
        ("https://www.sinaimg.cn.evil.com/a.jpg", False),
        ("https://evilsinaimg.cn/a.jpg", False),
        ("https://i.sinajs.cn/a.png", True),
        ("https://finance.sina.com.cn/a.png", True),
        ("ftp://n.sinaimg.cn/a.jpg", False),
        ("file:///etc/passwd", False),
        ("data:image/png;base64,AAAA", False),
    ],
)
def test_default_hosts(url: str, allowed: bool) -> None:
    hosts = ["*.sinaimg.cn", "*.sina.com.cn", "*.sina.cn", "*.sinajs.cn"]
    assert host_allowed(url, hosts) is allowed


# --- relinking a written post -------------------------------------------------------------------


def test_relink_post_round_trip_with_braces() -> None:
    remote = "https://n.sinaimg.cn/a/{b}.jpg"
    other = "https://n.sinaimg.cn/c.png"
    body = (
        f'<p>{{{{ x }}}}</p><img src="{remote}" referrerpolicy="no-referrer">\n\n'
        f'<!-- <img src="{remote}"> --><img src="{other}" alt>'
    )
    local = "/images/n.sinaimg.cn/a/_b_.jpg"

    def post(head: str, src: str) -> str:
        return render(Post("T {x}", ("a", "b", "c"), head, "A", "D", body.replace(remote, src, 1)))

    remote_post = render(Post("T {x}", ("a", "b", "c"), remote, "A", "D", body))
    assert "&#123;b&#125;" in remote_post
    local_post = relink_post(remote_post, {remote: local})
    assert local_post == post(local, local)
    assert f'<!-- <img src="{remote}"> -->'.replace("{", "&#123;").replace("}", "&#125;") in (
        local_post
    ), "an image inside a comment is not touched"
    assert relink_post(local_post, {local: remote}) == remote_post
