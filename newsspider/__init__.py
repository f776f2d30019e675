"""newsspider: archive Sina Finance news as Hexo posts, byte-exact to a long-running archive."""

from newsspider.article import Article, NotAnArticle
from newsspider.pages import extract

__all__ = ["Article", "NotAnArticle", "extract"]
