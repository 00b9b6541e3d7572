"""Request parsers that decode text by its declared charset (``services.core.text``).

DRF's parsers decode with the request's charset at best, and Django's multipart parser decodes
every text field with the request's charset and ``errors="replace"``, ignoring a part's own
``Content-Type: text/plain; charset=gbk``: a GBK complaint became replacement characters. These
parsers refuse undecodable text with a 400 instead, and honour a part's declared charset.
"""

from django.http import QueryDict
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

from services.core.text import charset_of, decode_text

# Read from the query string when the body is the text itself (``text/plain``).
PLAIN_TEXT_QUERY_FIELDS = ("scenario", "params", "source", "captured_at")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        text = decode_text(stream.read(), charset=charset_of(media_type), where="the JSON body")
        try:
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class PlainTextParser(parsers.BaseParser):
    """A ``text/plain`` body is the ``text`` input; the other fields come from the query string
    (``POST /api/v1/requests?scenario=…`` with the complaint as the body, as hotline systems send it)."""

    media_type = "text/plain"

    def parse(self, stream, media_type=None, parser_context=None):
        data = QueryDict(mutable=True)
        request = (parser_context or {}).get("request")
        if request is not None:
            for name in PLAIN_TEXT_QUERY_FIELDS:
                if name in request.query_params:
                    data[name] = request.query_params[name]
        data["text"] = decode_text(stream.read() if stream is not None else b"", charset=charset_of(media_type),
                                   where="the text body")
        return data


class _PartHeaderTap:
    """Passes the body through to Django's multipart parser unchanged and keeps each part's header
    block (a few hundred bytes per part), which Django reads but does not hand on for text fields."""

    def __init__(self, stream, boundary: bytes):
        self._stream = stream
        self._delimiter = b"\r\n--" + boundary
        self._buffer = b"\r\n"  # the first delimiter has no CRLF before it
        self.blocks: list[bytes] = []

    def read(self, size=-1):
        chunk = self._stream.read(size)
        if chunk:
            self._scan(chunk)
        return chunk

    def _scan(self, chunk: bytes) -> None:
        buffer, pos, step = self._buffer + chunk, 0, len(self._delimiter)
        while True:
            start = buffer.find(self._delimiter, pos)
            if start < 0:
                break
            end = buffer.find(b"\r\n\r\n", start + step)
            if end < 0:
                # The headers continue in the next chunk (they are bounded by Django at 8 KiB).
                self._buffer = buffer[start:] if len(buffer) - start < 16384 else b""
                return
            self.blocks.append(buffer[start + step:end])
            pos = end + 4
        self._buffer = buffer[max(pos, len(buffer) - step + 1):]

    def field_charsets(self) -> dict[str, list[str | None]]:
        """For each text field (a part without a file name), in order, the charset it declared."""
        out: dict[str, list[str | None]] = {}
        for block in self.blocks:
            name, filename, charset = None, None, None
            for line in block.decode("latin-1").split("\r\n"):
                header, _, value = line.partition(":")
                header = header.strip().lower()
                if header == "content-disposition":
                    params = parse_header_parameters(value)[1]
                    name, filename = (params.get("name") or "").strip() or None, params.get("filename")
                elif header == "content-type":
                    charset = charset_of(value)
            if name is not None and filename is None:
                out.setdefault(name, []).append(charset)
        return out


class _ByteExactMultiPartParser(DjangoMultiPartParser):
    """Django's parser run with ISO-8859-1, which maps every byte to one character: each text
    field's bytes come back exactly. File names were read that way too; they are put back into
    UTF-8 (what browsers send) before Django sanitizes them, which drops C1 characters."""

    def sanitize_file_name(self, file_name):
        return super().sanitize_file_name(_recode(file_name))


class MultiPartParser(parsers.MultiPartParser):
    """Each text field is decoded by its part's charset, or the request's, or UTF-8."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {})["request"]
        boundary = parse_header_parameters(media_type or "")[1].get("boundary", "")
        if not boundary:
            raise ParseError("Multipart form parse error - Invalid boundary in multipart: None")
        tap = _PartHeaderTap(stream, boundary.encode("ascii", "replace"))
        meta = {**request.META, "CONTENT_TYPE": media_type}
        try:
            raw, files = _ByteExactMultiPartParser(meta, tap, request.upload_handlers, "iso-8859-1").parse()
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from None
        declared = tap.field_charsets()
        default = charset_of(media_type)
        data = QueryDict(mutable=True)
        for raw_name, values in raw.lists():
            name = _recode(raw_name)
            charsets = declared.get(raw_name, [])
            for index, value in enumerate(values):
                charset = charsets[index] if index < len(charsets) and charsets[index] else default
                if value.isascii() and charset is None:
                    data.appendlist(name, value)
                else:
                    data.appendlist(name, decode_text(value.encode("iso-8859-1"), charset=charset,
                                                      where=f"the form field {name!r}"))
        data._mutable = False
        return parsers.DataAndFiles(data, files)


def _recode(name: str | None) -> str | None:
    """Field and file names were read as ISO-8859-1 too; browsers send them in UTF-8."""
    if not name or name.isascii():
        return name
    try:
        return name.encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        return name
