"""Text is decoded by its declared charset or refused with where it failed; never replaced."""

import pytest

from services.core.errors import ApplicationError
from services.core.text import charset_of, decode_text

COMPLAINT = "占道经营，商贩在人行道上摆摊"


@pytest.mark.parametrize("charset", ["gbk", "GBK", "gb2312", "gb18030", "cp936", '"gbk"'])
def test_gb_charsets_decode_as_gb18030(charset):
    assert decode_text(COMPLAINT.encode("gbk"), charset=charset) == COMPLAINT


def test_gb18030_only_characters_decode_when_gbk_is_declared():
    # Senders often say "gbk" for what is really GB18030; GB18030 is the superset, so it still decodes.
    text = "𠮷野家 €"
    assert decode_text(text.encode("gb18030"), charset="gbk") == text


def test_utf8_by_default_and_its_bom_is_dropped():
    assert decode_text(COMPLAINT.encode("utf-8")) == COMPLAINT
    assert decode_text(b"\xef\xbb\xbf" + COMPLAINT.encode("utf-8")) == COMPLAINT


def test_gbk_bytes_without_a_charset_are_refused_with_the_offset():
    data = "投诉：".encode() + "占道经营".encode("gbk")
    with pytest.raises(ApplicationError) as caught:
        decode_text(data, where="the form field 'text'")
    exc = caught.value
    assert (exc.code, exc.status) == ("invalid_encoding", 400)
    # 占 in GBK (d5 bc) happens to be valid UTF-8 too; 道 (b5 c0) is where UTF-8 decoding fails.
    offset = len("投诉：".encode()) + 2
    assert exc.details == {"field": "the form field 'text'", "encoding": "UTF-8", "offset": offset}
    assert "UTF-8" in exc.message and f"offset {offset} (bytes b5" in exc.message and "charset" in exc.message


def test_bytes_that_are_not_gb18030_either_are_refused():
    with pytest.raises(ApplicationError) as caught:
        decode_text("占道".encode("gbk") + b"\xff\xff", charset="gbk")
    assert caught.value.details["encoding"] == "GB18030" and caught.value.details["offset"] == 4


@pytest.mark.parametrize("charset", ["klingon-8", "base64", "rot13"])
def test_unknown_or_non_text_charsets_are_refused(charset):
    with pytest.raises(ApplicationError) as caught:
        decode_text(b"abc", charset=charset)
    assert caught.value.code == "unsupported_charset"


def test_charset_of_a_content_type():
    assert charset_of("text/plain; charset=gbk") == "gbk"
    assert charset_of('application/json; charset="GB18030"') == "GB18030"
    assert charset_of("application/json") is None
    assert charset_of(None) is None
