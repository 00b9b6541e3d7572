"""Serializer fields the API apps share, each written once: JSON carried as text, base64 bytes and file
uploads under the size limit, text files decoded by their declared charset, absolute URLs.

Field errors carry the codes the API documents (``invalid_json``, ``invalid_base64`` …; see
``CodedField``); when a body has one error, ``services.core.api.exception_handler`` answers with its code.
An input over ``CITYAI_MAX_UPLOAD_BYTES`` is not a field error but a 413 ``input_too_large``.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import empty

from services.core.errors import ApplicationError
from services.core.text import decode_text


def too_large(size: int, limit: int | None = None) -> ApplicationError:
    """The 413 for an input over ``limit`` (``CITYAI_MAX_UPLOAD_BYTES`` unless another is named)."""
    limit = settings.CITYAI_MAX_UPLOAD_BYTES if limit is None else limit
    return ApplicationError(
        f"The input is {size} bytes; the limit is {limit} bytes.",
        code="input_too_large", status=413, details={"limit_bytes": limit},
    )


def absolute_url(request, path: str) -> str:
    """``path`` as an absolute URL of the host the caller used (as-is without a request)."""
    return request.build_absolute_uri(path) if request is not None else path


class CodedField:
    """Mixin: the field's errors carry our codes. ``codes`` maps DRF's error keys (``required``,
    ``null``, ``invalid``, ``null_characters_not_allowed`` …) to the codes clients act on; ``code``
    gives every error of the field one code (``source`` is ``invalid_source``, whatever is wrong)."""

    codes: dict[str, str] = {}

    def __init__(self, *args, code: str | None = None, codes: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.code = code
        if codes:
            self.codes = {**self.codes, **codes}

    def run_validation(self, data=empty):
        try:
            return super().run_validation(data)
        except ValidationError as exc:
            raise ValidationError(self._recoded(exc.detail)) from None

    def _recoded(self, detail):
        if isinstance(detail, list):
            return [self._recoded(item) for item in detail]
        if isinstance(detail, dict):
            return {key: self._recoded(item) for key, item in detail.items()}
        return ErrorDetail(str(detail), self.code or self.codes.get(detail.code, detail.code))


class OptionalInputField(CodedField, serializers.Field):
    """Base of the input fields below. ``""`` is "not given", as a form sends an empty field; an optional
    field also takes ``null`` for "not given" and reads both as None (the schema says nullable), unless
    it has ``allow_null=False``: then its default applies."""

    def __init__(self, **kwargs):
        if not kwargs.get("required", False):
            kwargs.setdefault("required", False)
            kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if isinstance(data, str) and data == "":
            data = None if self.allow_null else empty
        return super().validate_empty_values(data)


class StrictCharField(CodedField, serializers.CharField):
    """A string as sent: a number is not turned into text (``7`` is not a name), and whitespace is kept
    unless ``trim_whitespace`` is asked for."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data.strip() if self.trim_whitespace else data


@extend_schema_field(OpenApiTypes.ANY)
class JSONTextField(OptionalInputField):
    """A JSON value: as-is from a JSON body; parsed from text in a form, where JSON travels as text (so
    in a JSON body a string must be JSON too: ``"params": "night"`` is refused, not taken as a value)."""

    codes = {"invalid": "invalid_json"}
    default_error_messages = {"invalid": "Not valid JSON: {error}"}

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                return json.loads(data)
            except json.JSONDecodeError as exc:
                self.fail("invalid", error=exc)
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(OptionalInputField):
    """An ISO 8601 time with its time zone (``2026-11-28T10:00:00+08:00``, ``…Z``): a capture time from
    a camera or a sensor in another zone is never guessed in ours."""

    codes = {"invalid": "invalid_datetime", "naive": "invalid_datetime"}
    default_error_messages = {
        "invalid": "Not an ISO 8601 time (e.g. 2026-11-28T10:00:00+08:00).",
        "naive": "The time needs a time zone (e.g. 2026-11-28T10:00:00+08:00).",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 64:
            self.fail("invalid")
        try:
            moment = datetime.fromisoformat(data.strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail("invalid")
        if moment.tzinfo is None:
            self.fail("naive")
        return moment

    def to_representation(self, value):
        return value.isoformat()


@extend_schema_field(OpenApiTypes.BYTE)
class Base64BytesField(OptionalInputField):
    """Bytes sent as base64 text, at most ``CITYAI_MAX_UPLOAD_BYTES`` once decoded (else a 413)."""

    codes = {"invalid": "invalid_base64", "malformed": "invalid_base64"}
    default_error_messages = {"invalid": "Not a base64 string.", "malformed": "Not valid base64."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if len(data) > settings.CITYAI_MAX_UPLOAD_BYTES * 4 // 3 + 8:
            raise too_large(len(data) * 3 // 4)
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            self.fail("malformed")
        return None  # not reached: fail raises

    def to_representation(self, value):
        return base64.b64encode(value).decode("ascii")


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part read into memory: its bytes, its file name and the charset its part declared."""

    content: bytes
    name: str = ""
    charset: str | None = None


def read_upload(part, max_bytes: int | None = None) -> "Upload":
    """A file part read into memory if it is at most ``max_bytes`` (``CITYAI_MAX_UPLOAD_BYTES`` unless
    another is named; else a 413, before a byte is read)."""
    limit = settings.CITYAI_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    if part.size > limit:
        raise too_large(part.size, limit)
    charset = getattr(part, "charset", None)
    if isinstance(charset, bytes):  # Django hands a part's charset on as it read it
        charset = charset.decode("latin-1")
    return Upload(content=part.read(), name=part.name or "", charset=charset or None)


@extend_schema_field(OpenApiTypes.BINARY)
class FilePartField(serializers.FileField):
    """A file part, not read yet: for a list of files read one by one (``read_upload``), where one file
    over the limit is refused alone."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_empty_file", True)  # an empty image is the image check's to refuse
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(OptionalInputField):
    """A file part (multipart), read by ``read_upload``: an ``Upload``. What the bytes must be (an image,
    a WAV …) is the service's check."""

    codes = {"invalid": "invalid_upload"}
    default_error_messages = {"invalid": "Send a file here (a multipart file part)."}

    def __init__(self, *, max_bytes: int | None = None, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not hasattr(data, "read") or not hasattr(data, "size"):
            self.fail("invalid")
        return read_upload(data, self.max_bytes)

    def to_representation(self, value):
        return value.name


class TextUploadField(UploadField):
    """A text file part (``.txt``, ``.csv``) decoded by the charset its part declares, UTF-8 if none;
    bytes that do not decode are a 400 naming the encoding and the offset (``services.core.text``)."""

    def __init__(self, *, where: str = "the text file", **kwargs):
        self.where = where
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        upload = super().to_internal_value(data)
        return decode_text(upload.content, charset=upload.charset, where=self.where)


@extend_schema_field(OpenApiTypes.STR)
class TextOrUploadField(TextUploadField):
    """Text as a string (a JSON value or a form field, already decoded by the parser), or as a text file
    part decoded like ``TextUploadField``."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            return data
        return super().to_internal_value(data)

    def to_representation(self, value):
        return value


class RelatedSlugField(serializers.SlugRelatedField):
    """A related row (a bureau, a scenario, a domain) shown by its slug: what the API names rows by."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.URI)
class AbsoluteUrlField(serializers.Field):
    """The absolute URL of the API route ``view_name`` for the object (its id as the one argument); None
    when the object's attribute ``when`` is empty (a work order without a photo has no photo URL)."""

    def __init__(self, view_name: str, *, when: str | None = None, **kwargs):
        self.view_name = view_name
        self.when = when
        kwargs.update(source="*", read_only=True)
        if when is not None:
            kwargs["allow_null"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        if self.when is not None and not getattr(value, self.when):
            return None
        return absolute_url(self.context.get("request"), reverse(self.view_name, args=[value.pk]))
