"""The shared input fields: each refuses with the code clients act on, and an over-size input is a 413."""

import base64
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIRequestFactory

from services.core import fields
from services.core.api import LeanInput, validation_failure
from services.core.errors import ApplicationError


class Body(serializers.Serializer):
    name = fields.StrictCharField(required=False, code="invalid_name")
    params = fields.JSONTextField()
    image = fields.UploadField()
    image_base64 = fields.Base64BytesField()
    text = fields.TextOrUploadField(where="the text file")
    notes = fields.TextUploadField(where="the notes file")
    at = fields.AwareDateTimeField(code="invalid_at")


class LeanBody(LeanInput, Body):
    pass


def read(data: dict) -> dict:
    serializer = Body(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def refused(data: dict) -> ApplicationError:
    with pytest.raises(ValidationError) as caught:
        read(data)
    return validation_failure(caught.value)


def test_json_is_a_value_in_a_json_body_and_text_in_a_form():
    assert read({"params": {"a": 1}})["params"] == {"a": 1}
    form = QueryDict(mutable=True)
    form["params"] = '{"a": 1}'
    assert read(form)["params"] == {"a": 1}
    error = refused({"params": "night"})  # a string in a JSON body must be JSON too
    assert error.code == "invalid_json" and error.message.startswith("params: Not valid JSON")


def test_empty_and_null_mean_not_given():
    assert read({"params": "", "image_base64": None, "text": ""}) == {"params": None, "image_base64": None,
                                                                      "text": None}


def test_base64(settings):
    assert read({"image_base64": base64.b64encode(b"abc").decode()})["image_base64"] == b"abc"
    assert refused({"image_base64": "!!not base64"}).code == "invalid_base64"
    assert refused({"image_base64": 42}).code == "invalid_base64"
    settings.CITYAI_MAX_UPLOAD_BYTES = 30
    with pytest.raises(ApplicationError) as caught:
        read({"image_base64": "A" * 80})
    assert (caught.value.code, caught.value.status) == ("input_too_large", 413)


def test_upload_is_read_within_the_limit(settings):
    upload = read({"image": SimpleUploadedFile("a.png", b"12345")})["image"]
    assert (upload.content, upload.name) == (b"12345", "a.png")
    assert refused({"image": "not a file"}).code == "invalid_upload"
    settings.CITYAI_MAX_UPLOAD_BYTES = 4
    with pytest.raises(ApplicationError) as caught:
        read({"image": SimpleUploadedFile("a.png", b"12345")})
    assert (caught.value.code, caught.value.status, caught.value.details) == ("input_too_large", 413,
                                                                              {"limit_bytes": 4})


def test_text_files_are_decoded_by_their_declared_charset():
    complaint = "占道经营"
    gbk = SimpleUploadedFile("c.txt", complaint.encode("gbk"), content_type="text/plain; charset=gbk")
    gbk.charset = "gbk"
    assert read({"notes": gbk})["notes"] == complaint
    assert read({"text": complaint})["text"] == complaint  # a string is the text itself
    with pytest.raises(ApplicationError) as caught:  # GBK bytes that declare nothing are not UTF-8
        read({"notes": SimpleUploadedFile("c.txt", complaint.encode("gbk"))})
    assert caught.value.code == "invalid_encoding" and caught.value.details["field"] == "the notes file"


def test_strict_text_and_aware_times():
    assert refused({"name": 7}).code == "invalid_name"  # not turned into "7"
    assert refused({"name": "a\x00b"}).code == "invalid_name"
    assert read({"at": "2026-11-28T10:00:00Z"})["at"] == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert refused({"at": "2026-11-28T10:00:00"}).code == "invalid_at"  # no zone: not guessed
    assert refused({"at": "yesterday"}).code == "invalid_at"


def test_several_errors_are_invalid_with_each_field_named():
    error = refused({"name": 7, "params": "{"})
    assert error.code == "invalid"
    assert set(error.details["fields"]) == {"name", "params"}


@pytest.mark.parametrize("data", [
    {"params": {"a": [1]}, "text": "x", "at": "2026-11-28T10:00:00+08:00"},
    {"params": "", "image_base64": None},
    {},
    {"name": 7, "params": "{"},
    {"image_base64": "!!"},
])
def test_lean_input_reads_as_drf_does(data):
    def outcome(reader):
        try:
            return dict(reader(data))
        except ValidationError as exc:
            return validation_failure(exc).code, exc.detail

    assert outcome(LeanBody.read) == outcome(read)


def test_absolute_urls():
    class Out(serializers.Serializer):
        url = fields.AbsoluteUrlField("api-request-detail")
        photo = fields.AbsoluteUrlField("api-request-annotated", when="photo")

    class Row:
        pk = "00000000-0000-0000-0000-000000000001"
        photo = None

    request = APIRequestFactory().get("/")
    data = Out(Row(), context={"request": request}).data
    assert data == {"url": f"http://testserver/api/v1/requests/{Row.pk}", "photo": None}
    assert fields.absolute_url(None, "/x") == "/x"
