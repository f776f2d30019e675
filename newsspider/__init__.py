"""newsspider: archive Sina Finance news as Hexo posts, byte-exact to a long-running archive."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from newsspider.article import Article, NotAnArticle
from newsspider.pages import extract

try:  # one source of truth: pyproject.toml's version, as installed
    __version__ = _version("newsspider")
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"

__all__ = ["Article", "NotAnArticle", "__version__", "extract"]
