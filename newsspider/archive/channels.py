"""The channel table: which roll API list a channel reads and which categories its posts get."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from newsspider.article import DEFAULT_CHANNEL

__all__ = ["DEFAULT_AUTHOR", "DEFAULT_CHANNEL", "Channel", "ChannelError", "load_channels"]

DEFAULT_AUTHOR = "新浪财经"


class ChannelError(ValueError):
    """A channel table entry that would write somewhere it must not (or cannot be read)."""


@dataclass(frozen=True)
class Channel:
    key: str
    pageid: int
    lid: int
    categories: tuple[str, str, str]
    author: str = DEFAULT_AUTHOR

    def roll_url(self, page: int, num: int = 50) -> str:
        """Deterministic (no cache-busting argument), so recorded crawls replay."""
        return (
            "https://feed.mix.sina.com.cn/api/roll/get"
            f"?pageid={self.pageid}&lid={self.lid}&k=&num={num}&page={page}"
        )


def _check_folder_name(key: str, name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ChannelError(f"channel {key!r}: category {name!r} is not a non-empty string")
    if name != name.strip():
        raise ChannelError(f"channel {key!r}: category {name!r} has surrounding whitespace")
    if "/" in name or "\\" in name or name.startswith(("_", ".")) or name in (".", ".."):
        raise ChannelError(
            f"channel {key!r}: category {name!r} cannot be a folder name "
            "(no '/', '\\', leading '_' or '.')"
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in name):
        raise ChannelError(f"channel {key!r}: category {name!r} holds control characters")
    if len(name.encode("utf-8")) > 200:
        raise ChannelError(f"channel {key!r}: category {name!r} is longer than 200 bytes")
    return name


def _parse(data: object, origin: str) -> dict[str, Channel]:
    if not isinstance(data, dict):
        raise ChannelError(f"{origin}: expected a mapping of channel keys")
    out: dict[str, Channel] = {}
    for key, entry in data.items():
        if not isinstance(key, str) or not key or not isinstance(entry, dict):
            raise ChannelError(f"{origin}: channel {key!r} must be a key with a mapping")
        try:
            pageid, lid = int(entry["pageid"]), int(entry["lid"])
            cats = entry["categories"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ChannelError(f"{origin}: channel {key!r} needs pageid, lid, categories") from exc
        if not isinstance(cats, list) or len(cats) != 3:
            raise ChannelError(f"{origin}: channel {key!r} needs exactly three categories")
        c1, c2, c3 = (_check_folder_name(key, c) for c in cats)
        author = entry.get("author", DEFAULT_AUTHOR)
        if not isinstance(author, str) or not author.strip():
            raise ChannelError(f"{origin}: channel {key!r}: author must be a non-empty string")
        out[key] = Channel(key, pageid, lid, (c1, c2, c3), author)
    return out


def load_channels(extra: str | Path | None = None) -> dict[str, Channel]:
    """The shipped table, extended (or overridden per key) by a user's own YAML file."""
    text = resources.files("newsspider.archive").joinpath("channels.yaml").read_text("utf-8")
    table = _parse(yaml.safe_load(text), "channels.yaml")
    if extra:
        try:
            user = yaml.safe_load(Path(extra).read_text("utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ChannelError(f"cannot read channel file {extra}: {exc}") from exc
        table.update(_parse(user, str(extra)))
    return table
