"""Render the golden posts with a real Hexo and check the site that comes out.

Why: the golden ``expected.md`` files are what newsspider must write byte for
byte, and what the live blog has been rendering for years.  This test pins
down that those bytes are also *renderable*: Hexo parses the front matter
(despite the leading blank line and the missing final newline), the bodies
survive Hexo's Nunjucks pass, every post gets a page with its title, and the
three-level category pages exist.  A negative control proves the harness would
notice a broken post instead of passing vacuously.

Needs node + npm; the first run installs Hexo from the npm registry into the
cache folder (see tests/hexo.py, .ci/install-hexo.sh).  The fixtures are
copies of /work/shared/golden/<case>/ and are read only from
tests/fixtures/golden at test time.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import hexo
import pytest
import yaml

pytestmark = pytest.mark.hexo

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
CATEGORIES: tuple[str, str, str] = ("金融", "新浪财经", "新浪财经－国內")
_FRONT_MATTER = re.compile(r"\A\n?---\n(.*?)\n---\n", re.S)


@dataclass(frozen=True)
class GoldenPost:
    """One golden case: where newsspider writes it and what Hexo should show."""

    case: str
    expected_path: str
    data: bytes
    title: str
    categories: tuple[str, ...]


def _load_cases() -> list[GoldenPost]:
    """Read every golden case; the front matter is parsed here, independently of Hexo."""
    posts: list[GoldenPost] = []
    for case_dir in sorted(p for p in GOLDEN.iterdir() if (p / "case.json").is_file()):
        case = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
        data = (case_dir / "expected.md").read_bytes()
        m = _FRONT_MATTER.match(data.decode("utf-8"))
        assert m, f"{case_dir.name}: no front matter block"
        meta = yaml.safe_load(m.group(1))
        posts.append(
            GoldenPost(
                case=case_dir.name,
                expected_path=case["expected_path"],
                data=data,
                title=str(meta["title"]),
                categories=tuple(meta["categories"]),
            )
        )
    return posts


CASES = _load_cases()


def _write_output(out: Path, posts: list[tuple[str, bytes]]) -> Path:
    """Lay posts out like newsspider's output folder (``OUT/_posts/...``), byte-exact."""
    for rel, data in posts:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (out / "images").mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def golden_site(tmp_path_factory: pytest.TempPathFactory) -> hexo.HexoResult:
    """Generate one site from all golden posts; shared so Hexo runs once per module."""
    base = tmp_path_factory.mktemp("hexo-golden")
    out = _write_output(base / "OUT", [(c.expected_path, c.data) for c in CASES])
    return hexo.generate_site(out, base / "site")


def test_fixtures_keep_the_archive_format() -> None:
    """Guard the premise: posts start with a blank line and have no final newline.

    If someone "tidied" the fixtures, the render test would stop exercising
    the format the blog actually uses.
    """
    assert len(CASES) == 5
    for c in CASES:
        assert c.data.startswith(b"\n---\n"), c.case
        assert not c.data.endswith(b"\n"), c.case
        assert c.expected_path.startswith("_posts/" + "/".join(CATEGORIES) + "/"), c.case
        assert c.categories == CATEGORIES, c.case


def test_golden_posts_render_cleanly(golden_site: hexo.HexoResult) -> None:
    """Hexo exits 0 and prints no error, Nunjucks or warning line."""
    hexo.assert_clean(golden_site)


@pytest.mark.parametrize("post", CASES, ids=[c.case for c in CASES])
def test_post_page_shows_title_and_body(golden_site: hexo.HexoResult, post: GoldenPost) -> None:
    """Each post gets a page titled from its front matter, with no front matter leaking."""
    hexo.assert_clean(golden_site)
    page = hexo.find_post_page(golden_site.public, post.title)
    text = html.unescape(page.read_text(encoding="utf-8"))
    assert post.title in text
    # A failed front-matter parse renders the YAML as body text.
    for leaked in ("headimg:", "thumbnail:", "comments: false", "categories:"):
        assert leaked not in text, f"{post.case}: front matter leaked into {page}"
    # The post links to all three of its category levels.
    for depth in range(1, 4):
        href = quote("/" + hexo.category_page(Path(), *CATEGORIES[:depth]).parent.as_posix() + "/")
        assert f'href="{href}"' in text, f"{post.case}: no link to {href}"


def test_one_page_per_post(golden_site: hexo.HexoResult) -> None:
    """Exactly the golden posts were rendered as posts (none dropped, none doubled)."""
    hexo.assert_clean(golden_site)
    pages = hexo.post_pages(golden_site.public)
    assert len(pages) == len(CASES), pages


@pytest.mark.parametrize("depth", [1, 2, 3], ids=["/".join(CATEGORIES[:d]) for d in (1, 2, 3)])
def test_category_pages_exist(golden_site: hexo.HexoResult, depth: int) -> None:
    """The 1-, 2- and 3-level category pages exist and list every post."""
    hexo.assert_clean(golden_site)
    page = hexo.category_page(golden_site.public, *CATEGORIES[:depth])
    assert page.is_file(), (page, hexo.category_pages(golden_site.public))
    text = html.unescape(page.read_text(encoding="utf-8"))
    for post in CASES:
        assert post.title in text, f"{post.title!r} not listed on {page}"


def test_category_slugs_keep_chinese_names() -> None:
    """Hexo keeps CJK and the full-width hyphen in category slugs (no transliteration)."""
    assert [hexo.hexo_slugize(n) for n in CATEGORIES] == list(CATEGORIES)


def test_broken_nunjucks_is_caught(tmp_path: Path) -> None:
    """Negative control: an unescaped ``{{ x `` in a body must make assert_clean fail."""
    good = CASES[0]
    body = good.data.decode("utf-8")
    broken = body.replace("</p>", " {{ x </p>", 1)
    assert broken != body
    rel = "_posts/" + "/".join(CATEGORIES) + "/broken nunjucks.md"
    out = _write_output(tmp_path / "OUT", [(rel, broken.encode("utf-8"))])
    result = hexo.generate_site(out, tmp_path / "site")
    with pytest.raises(AssertionError, match="Nunjucks"):
        hexo.assert_clean(result)


def _fake(returncode: int = 0, stdout: str = "", stderr: str = "") -> hexo.HexoResult:
    return hexo.HexoResult(returncode, stdout, stderr, Path("public"))


@pytest.mark.parametrize(
    ("result", "clean"),
    [
        (_fake(stdout="INFO  Validating config\nINFO  22 files generated in 390 ms\n"), True),
        (_fake(stdout="INFO  Generated: 2022/01/01/Error handling/index.html\n"), True),
        (_fake(returncode=2), False),
        (_fake(stdout="WARN  No layout: 2022/01/01/x/index.html\n"), False),
        (_fake(stderr="Unhandled rejection Template render error: (unknown path)\n"), False),
        (_fake(stderr="\x1b[31mERROR\x1b[39m Render HTML failed\n"), False),
    ],
    ids=["info", "generated-line-with-Error", "exit-code", "warn", "unhandled", "ansi-error"],
)
def test_assert_clean_classifies_output(result: hexo.HexoResult, clean: bool) -> None:
    """assert_clean's line filter, checked without running Hexo."""
    if clean:
        hexo.assert_clean(result)
    else:
        with pytest.raises(AssertionError):
            hexo.assert_clean(result)
