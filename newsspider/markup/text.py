"""Text cleaning that page objects apply and the archive's rules assume."""

from __future__ import annotations

import re

_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")


def strip_private_use(text: str) -> str:
    """Old GBK pages decode user-defined code points to private use characters: noise."""
    return _PRIVATE_USE.sub("", text)
