"""Make the sample crawl's images: synthetic stand-ins, drawn with Pillow, for the pictures the
five saved articles show (Sina's own files are not ours to redistribute).

Why: a replayed crawl answers 404 for every URL its manifest lacks, so without these the
README's main job stored no image at all and its site showed broken pictures. Each stand-in has
the format of its URL's extension (animated GIFs keep two frames) and the size Sina's path names
(``.../w478h254/...``); it shows a grey grid and the words "synthetic image". Their manifest rows
are marked synthetic. Run from anywhere: ``python examples/sample-crawl/synthesise_images.py``
rewrites ``images/`` and the manifest's image rows (the output is the same every time).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
#: the image URLs of the five articles (every ``img`` of their bodies, boilerplate included)
URLS = (
    "https://n.sinaimg.cn/spider20220731/732/w478h254/20220731/3e3d-cd90e425739b5670b9ebf38ac7f702ee.gif",
    "https://n.sinaimg.cn/spider20220731/745/w480h265/20220731/a571-567e15fa96ea24d0aeb9f506d89cad48.gif",
    "https://n.sinaimg.cn/spider20220731/246/w786h260/20220731/d571-391f83d1123136765d7fd53d77dc15a4.png",
    "https://n.sinaimg.cn/spider20220731/489/w1080h209/20220731/38bc-bbd47ddcb0b403a1ce893b336635b85e.png",
    "https://n.sinaimg.cn/spider20220731/204/w786h218/20220731/b9e9-2aff9219513cb36cfba709aba9e939eb.png",
    "https://n.sinaimg.cn/spider20220731/200/w624h376/20220731/9018-9fb4deff185612375007e39ce7bc739c.gif",
    "https://n.sinaimg.cn/spider20220731/733/w1080h453/20220731/77f2-fb4fa5c7f7cd8dd3474250cbd4a90952.png",
    "https://n.sinaimg.cn/spider20220731/237/w502h535/20220731/469a-d491b98b85a4468c6026f8b0ff4bdadd.jpg",
    "https://n.sinaimg.cn/spider20220731/723/w1080h443/20220731/6867-249011f6173f09509a580ed7ddabb2bc.png",
    "https://n.sinaimg.cn/finance/transform/115/w550h365/20211106/0d5b-902058d68719f3a15fcabdebcf3b63dc.png",
    "https://n.sinaimg.cn/spider20211202/598/w799h599/20211202/e55b-e658933712d59a655b88210d4384112f.jpg",
    "https://n.sinaimg.cn/spider20211202/415/w799h416/20211202/0ff1-45ba29711b4b97b61b0b9fdfeff8a350.jpg",
    "https://n.sinaimg.cn/spider20211202/442/w799h443/20211202/3fd6-fcfe25c23ea026fc24dd5bb8c30e659c.jpg",
    "https://n.sinaimg.cn/spider20211202/392/w798h394/20211202/46a4-8d041796dfdbf2675455796a32ea2b45.jpg",
    "https://n.sinaimg.cn/spider20211202/546/w800h546/20211202/f082-b1b20a9611f801b8807de13e854d491c.jpg",
    # the QR code block every article ends with (its path names no size: Sina's is 200x200)
    "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png",
)
_SIZE = re.compile(r"/w(\d+)h(\d+)/")
_CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
MARK = "# synthetic image (Pillow-made stand-in, not Sina's): "


def draw(width: int, height: int, label: str, shade: int) -> Image.Image:
    """A light picture with a grid, a frame and the label: small once compressed."""
    img = Image.new("RGB", (width, height), (236, 240 - shade % 40, 228 + shade % 28))
    pen = ImageDraw.Draw(img)
    for x in range(0, width, 40):
        pen.line([(x, 0), (x, height)], fill=(200, 205, 210))
    for y in range(0, height, 40):
        pen.line([(0, y), (width, y)], fill=(200, 205, 210))
    pen.rectangle([0, 0, width - 1, height - 1], outline=(90, 110, 140), width=3)
    pen.text((12, 12), "synthetic image", fill=(40, 50, 70))
    pen.text((12, 28), label, fill=(40, 50, 70))
    return img


def make(url: str) -> tuple[str, bytes]:
    """(file name, bytes) of the stand-in for ``url``."""
    ext = url.rsplit(".", 1)[-1].lower()
    m = _SIZE.search(url)
    width, height = (int(m.group(1)), int(m.group(2))) if m else (200, 200)
    digest = hashlib.sha1(url.encode()).hexdigest()[:10]
    shade = int(digest[:2], 16)
    label = f"{width}x{height} {ext}"
    path = HERE / "images" / f"{digest}.{ext}"
    frame = draw(width, height, label, shade)
    if ext == "jpg":
        frame.save(path, "JPEG", quality=60, optimize=True)
    elif ext == "png":
        frame.quantize(16).save(path, "PNG", optimize=True)
    else:  # an animated GIF: two frames, looping, as Sina's are
        second = draw(width, height, label + " (frame 2)", shade + 20)
        frames = [f.quantize(16) for f in (frame, second)]
        frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=600, loop=0)
    return path.name, path.read_bytes()


def main() -> None:
    (HERE / "images").mkdir(exist_ok=True)
    for old in (HERE / "images").iterdir():
        old.unlink()
    manifest = HERE / "MANIFEST.tsv"
    kept = [line for line in manifest.read_text("utf-8").splitlines()
            if line and not line.startswith(MARK) and "\timages/" not in line]  # fmt: skip
    rows = []
    for url in URLS:
        name, _ = make(url)
        ext = name.rsplit(".", 1)[-1]
        rows.append(f"{MARK}{url}")
        rows.append(f"{url}\timages/{name}\t200\t{_CONTENT_TYPES[ext]}")
    manifest.write_text("\n".join(kept + rows) + "\n", "utf-8")


if __name__ == "__main__":
    main()
