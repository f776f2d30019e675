"""Charset decoding: what the bytes are wins over what the page or the server says."""

from __future__ import annotations

import pytest

from newsspider.pages.base import decode_html

TEXT = "<html><head>{meta}</head><body><p>新浪财经：人民币汇率“走强”，鍶䶮𠀀</p></body></html>"


@pytest.mark.parametrize("meta", ['<meta charset="gb2312">', '<meta charset="iso-8859-1">', ""])
@pytest.mark.parametrize("header", ["text/html; charset=gb2312", "text/html", None])
def test_utf8_bytes_decode_as_utf8_whatever_is_declared(meta: str, header: str | None) -> None:
    page = TEXT.format(meta=meta)
    text, enc = decode_html(page.encode("utf-8"), header)
    assert text == page and enc == "utf-8"


@pytest.mark.parametrize("header", ["text/html; charset=utf-8", "text/html", None])
def test_gb_bytes_decode_as_gb18030_whatever_is_declared(header: str | None) -> None:
    page = TEXT.format(meta='<meta charset="utf-8">')
    text, enc = decode_html(page.encode("gb18030"), header)
    assert text == page and enc == "gb18030"


def test_invalid_bytes_are_replaced_not_fatal() -> None:
    text, _ = decode_html(b'<meta charset="utf-8"><p>\xff\xfe\x81</p>', None)
    assert text.startswith('<meta charset="utf-8"><p>')
