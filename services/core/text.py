"""Bytes to text, by the charset the sender declared, in one place for the API and the portal.

Hotline systems and legacy exports send GBK/GB18030. Decoding them as UTF-8 with replacement
characters stores mojibake that the router then classifies with confidence; so text is decoded
strictly by its declared charset (GB18030 for every GB charset: it is their superset), UTF-8 when
none is declared, and bytes that do not decode are refused with the encoding expected and the byte
offset where decoding failed.
"""

import codecs

from django.utils.http import parse_header_parameters

from services.core.errors import ApplicationError

# GB2312 ⊂ GBK (cp936) ⊂ GB18030: decode all of them as GB18030, so a "gbk" sender's rarer
# characters (and the euro sign cp936 adds) still decode.
_GB = {"gb2312", "gbk", "cp936", "ms936", "x-gbk", "euc-cn", "euccn", "gb18030", "gb-18030", "936"}
_BOM = codecs.BOM_UTF8
_codec_cache: dict[str, str] = {}


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header value, or None."""
    if not content_type or "charset" not in content_type.lower():
        return None
    return parse_header_parameters(content_type)[1].get("charset") or None


def codec_for(charset: str | bytes | None, where: str = "the text") -> str:
    """Python's codec name for a declared charset; UTF-8 when none is declared."""
    if not charset:
        return "utf-8"
    if isinstance(charset, bytes):  # Django hands a file part's charset on as it read it
        charset = charset.decode("latin-1")
    key = charset.strip().strip('"').lower()
    name = _codec_cache.get(key)
    if name is not None:
        return name
    if key in _GB:
        name = "gb18030"
    else:
        try:
            info = codecs.lookup(key)
        except LookupError:
            info = None
        # base64, zlib, rot13 … are codecs too, but not text encodings.
        if info is None or not getattr(info, "_is_text_encoding", True):
            raise ApplicationError(
                f"The charset {charset!r} declared for {where} is not a text encoding this service knows; "
                "send UTF-8, or GB18030 (GBK) text declared as such.",
                code="unsupported_charset", details={"field": where, "charset": charset},
            )
        name = "gb18030" if info.name in _GB else info.name
    _codec_cache[key] = name
    return name


def decode_text(data: bytes, *, charset: str | bytes | None = None, where: str = "the text") -> str:
    """Decode strictly by the declared charset (UTF-8 if none); a 400 naming the encoding and the
    byte offset otherwise. A UTF-8 byte-order mark is dropped (spreadsheet exports start with one)."""
    codec = codec_for(charset, where)
    skipped = 0
    if codec == "utf-8" and data[:3] == _BOM:
        skipped = 3
        data = data[3:]
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        offset = exc.start + skipped
        bad = data[exc.start:min(exc.end, exc.start + 4)].hex(" ")
        label = "GB18030" if codec == "gb18030" else codec.upper()
        hint = (
            "Send UTF-8, or declare the charset the text is in (e.g. charset=gb18030 in its Content-Type)."
            if not charset else f"Check that the text really is {label}."
        )
        raise ApplicationError(
            f"{where[:1].upper()}{where[1:]} is not valid {label}: decoding failed at byte offset {offset} "
            f"(bytes {bad}). {hint}",
            code="invalid_encoding", details={"field": where, "encoding": label, "offset": offset},
        ) from None
