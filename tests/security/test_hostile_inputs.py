"""A corpus of hostile inputs against the submit API. Each one is either refused with a 4xx JSON error
whose code names the problem, or — where the input is legitimately acceptable (a source name with
shell characters, a complaint text with HTML in it) — stored verbatim and shown escaped in the portal.
Never a 5xx, and a refused input leaves no row and no stored file behind."""

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.html import escape
from PIL import Image

from services.inference.models import InferenceRequest

pytestmark = pytest.mark.django_db
URL = "/api/v1/requests"
IMAGE_SCENARIO = "crowd-gathering"
TEXT_SCENARIO = "complaint-routing"
SERIES_SCENARIO = "environmental-noise-monitoring"
CHANNEL_SCENARIO = "air-quality-aqi-alert"
SERIES = [50.0, 52.5, 49.0]
SERIES_BODY = {"scenario": SERIES_SCENARIO, "series": SERIES}

INJECTIONS = [
    "'; DROP TABLE inference_inferencerequest; --",
    "1 OR 1=1",
    '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "{{ settings.SECRET_KEY }}{% debug %}${7*7}#{7*7}",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "$(rm -rf /); `id` | cat /etc/shadow && echo pwned",
]
ODD_UNICODE = {
    "rtl_override": "abc\u202edcba\u200f",
    "combining": "e" + "\u0301" * 50,
    "emoji": "🚒🔥👩🏽‍🚒",
    "zero_width": "a\u200b\u200c\u200db\ufeff",
}
LONE_SURROGATE = "\\ud800"  # as a JSON escape: valid JSON, not valid Unicode text


def png_bytes(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 130, 140)).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(size=(200, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, "JPEG")
    return buf.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header declares width×height pixels, built by hand in a few hundred bytes: one
    compressed row of zeros repeated would decode to gigabytes, if anything decoded it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 16, 9)  # the first rows only; the stream is cut
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def stored_files() -> int:
    root = Path(settings.MEDIA_ROOT)
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


@pytest.fixture
def refused(api_a):
    """Post, then check: a 4xx JSON error with the expected code, no new row, no new file."""

    def check(status: int, code: str, *, body=None, raw: bytes | None = None, content_type=None, headers=None,
              multipart=None):
        rows, files = InferenceRequest.objects.count(), stored_files()
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        if multipart is not None:
            response = api_a.post(URL, multipart, format="multipart", **extra)
        elif raw is not None:
            response = api_a.generic("POST", URL, raw, content_type=content_type or "application/json", **extra)
        else:
            response = api_a.generic("POST", URL, json.dumps(body), content_type="application/json", **extra)
        assert response.status_code == status, response.content[:500]
        assert response["Content-Type"].startswith("application/json")
        error = response.json()["error"]
        assert error["code"] == code, error
        assert error["message"]
        assert InferenceRequest.objects.count() == rows
        assert stored_files() == files
        return error

    return check


def upload(data: bytes, name="x.png", content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


# --- bytes that are not what they claim -------------------------------------------------------------


def test_zero_bytes_image(refused):
    refused(400, "invalid_image", multipart={"scenario": IMAGE_SCENARIO, "image": upload(b"")})


def test_zero_bytes_base64(refused):
    refused(400, "missing_input", body={"scenario": IMAGE_SCENARIO, "image_base64": ""})


def test_zero_byte_body(refused):
    refused(400, "missing_scenario", raw=b"")


def test_truncated_jpeg(refused):
    data = jpeg_bytes()
    refused(400, "invalid_image", multipart={"scenario": IMAGE_SCENARIO, "image": upload(data[: len(data) // 2],
                                                                                     "t.jpg", "image/jpeg")})


def test_jpeg_header_only(refused):
    refused(400, "invalid_image", multipart={"scenario": IMAGE_SCENARIO, "image": upload(jpeg_bytes()[:20], "t.jpg")})


def test_png_decompression_bomb(refused):
    for size in [(30000, 30000), (7000, 7000), (1, 2**31 - 1)]:
        bomb = png_bomb(*size)
        assert len(bomb) < 200_000
        form = {"scenario": IMAGE_SCENARIO, "image": upload(bomb, "bomb.png")}
        error = refused(413, "image_too_large", multipart=form)
        assert "pixels" in error["message"]


def test_bomb_as_base64(refused):
    import base64

    bomb = base64.b64encode(png_bomb(30000, 30000)).decode()
    refused(413, "image_too_large", body={"scenario": IMAGE_SCENARIO, "image_base64": bomb})


def test_pdf_sent_as_image(refused):
    refused(400, "invalid_image",
            multipart={"scenario": IMAGE_SCENARIO, "image": upload(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj", "x.pdf")})


def test_gif_is_not_an_accepted_format(refused):
    buf = io.BytesIO()
    Image.new("P", (8, 8)).save(buf, "GIF")
    refused(400, "invalid_image", multipart={"scenario": IMAGE_SCENARIO, "image": upload(buf.getvalue(), "x.gif")})


def test_wav_sent_to_an_image_scenario(refused):
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 800)
    refused(400, "wrong_input_kind",
            multipart={"scenario": IMAGE_SCENARIO, "audio": upload(buf.getvalue(), "x.wav", "audio/wav")})


def test_wrong_body_media_type(refused):
    for content_type in ["application/xml", "application/x-yaml", "image/png"]:
        refused(415, "unsupported_media_type", raw=b"scenario: crowd-gathering", content_type=content_type)
    # text/plain is the text input itself (hotline systems); the scenario then comes from the query string.
    refused(400, "missing_scenario", raw=b"scenario: crowd-gathering", content_type="text/plain")


def test_upload_over_the_size_limit(refused, settings):
    settings.CITYAI_MAX_UPLOAD_BYTES = 50_000
    big = png_bytes((600, 600)) + b"\x00" * 60_000
    refused(413, "input_too_large", multipart={"scenario": IMAGE_SCENARIO, "image": upload(big)})


def test_base64_over_the_size_limit(refused, settings):
    settings.CITYAI_MAX_UPLOAD_BYTES = 50_000
    refused(413, "input_too_large", body={"scenario": IMAGE_SCENARIO, "image_base64": "A" * 80_000})


def test_json_body_over_the_request_limit(refused):
    text = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    refused(413, "request_too_large", body={"scenario": TEXT_SCENARIO, "text": text})


def test_invalid_base64(refused):
    refused(400, "invalid_base64", body={"scenario": IMAGE_SCENARIO, "image_base64": "!!!not base64***"})


# --- malformed structure ----------------------------------------------------------------------------


def test_malformed_json(refused):
    for raw in [b'{"scenario": ', b"{'scenario': 'x'}", b"[1, 2", b"NaN",
                                 b'{"scenario": "a", "text": "b"' + b"}" * 3]:
        refused(400, "parse_error", raw=raw)
    # Bytes that are not UTF-8 (no charset declared) say so, with where decoding failed.
    refused(400, "invalid_encoding", raw=b"\xff\xfe\x00{")


def test_json_that_is_not_an_object(refused):
    for body in [[], [1, 2], "crowd-gathering", 42, None]:
        refused(400, "invalid_body", body=body)


def test_scenario_of_the_wrong_type(refused):
    for scenario in [None, 7, ["crowd-gathering"], {"slug": "crowd-gathering"}, "", "   "]:
        refused(400, "missing_scenario", body={"scenario": scenario, "series": SERIES})


def test_unknown_scenario(refused):
    refused(404, "unknown_scenario", body={"scenario": "no-such-scenario", "series": SERIES})


def test_params_violating_the_schema(refused):
    for params in [
    {"period": "midnight"}, {"zone_class": 5}, {"unknown_key": 1}, [1, 2], 3, {"period": None}, {"period": ["day"]},
]:
        refused(400, "invalid_params", body={"scenario": SERIES_SCENARIO, "series": SERIES, "params": params})


def test_params_as_a_bare_string_is_not_json(refused):
    refused(400, "invalid_json", body={"scenario": SERIES_SCENARIO, "series": SERIES, "params": "night"})


def test_params_as_malformed_json_text(refused):
    refused(400, "invalid_json", multipart={"scenario": SERIES_SCENARIO, "series": "[1, 2]", "params": "{period:"})


def test_series_malformed(refused):
    for series in [[], [1, "2"], [1, None], [True], {"": [1]}, {"a": []}, 5, [[1, 2]],
                                    {str(i): [1] for i in range(65)}, {"x" * 65: [1.0]}, {"a": {"b": [1]}}]:
        refused(400, "invalid_series", body={"scenario": SERIES_SCENARIO, "series": series})


def test_series_as_text_that_is_not_json(refused):
    refused(400, "invalid_json", body={"scenario": SERIES_SCENARIO, "series": "1,2,3"})


def test_series_with_non_finite_numbers_in_json(refused):
    body = b'{"scenario": "%s", "series": %s}'
    for raw in [b"[1, Infinity]", b"[NaN]", b"[-Infinity]"]:
        refused(400, "parse_error", raw=body % (SERIES_SCENARIO.encode(), raw))
    refused(400, "invalid_series", raw=body % (SERIES_SCENARIO.encode(), b"[1e999]"))  # parses as inf


def test_text_of_the_wrong_type(refused):
    refused(400, "invalid_text", body={"scenario": TEXT_SCENARIO, "text": {"a": 1}})


def test_two_inputs(refused):
    refused(400, "ambiguous_input", body={"scenario": TEXT_SCENARIO, "text": "a", "series": SERIES})


# --- length -----------------------------------------------------------------------------------------


def test_very_long_text(refused):
    refused(413, "input_too_large", body={"scenario": TEXT_SCENARIO, "text": "投诉" * settings.CITYAI_MAX_TEXT_CHARS})


def test_very_long_scenario(refused):
    refused(404, "unknown_scenario", body={"scenario": "a" * 100_000, "series": SERIES})


def test_very_long_source(refused):
    refused(400, "invalid_source", body={"scenario": SERIES_SCENARIO, "series": SERIES, "source": "s" * 5000})


def test_very_long_idempotency_key(refused):
    refused(400, "invalid_idempotency_key", body={"scenario": SERIES_SCENARIO, "series": SERIES},
            headers={"Idempotency-Key": "k" * 5000})


def test_very_long_params_value(refused):
    refused(400, "invalid_params", body={**SERIES_BODY, "params": {"period": "n" * 10**5}})


# --- odd Unicode ------------------------------------------------------------------------------------


def _with_lone_surrogate(template: dict) -> bytes:
    """A JSON body where ``field``'s value holds an unpaired surrogate, written as a JSON escape."""
    text = json.dumps(template)
    return text.replace("@SURROGATE@", LONE_SURROGATE).encode()


def test_lone_surrogates_are_refused(refused):
    for template, code in [
    ({"scenario": "crowd@SURROGATE@", "series": SERIES}, "invalid_characters"),
    ({"scenario": TEXT_SCENARIO, "text": "投诉@SURROGATE@"}, "invalid_characters"),
    ({"scenario": SERIES_SCENARIO, "series": SERIES, "source": "cam@SURROGATE@"}, "invalid_source"),
    ({"scenario": SERIES_SCENARIO, "series": SERIES, "params": {"period": "@SURROGATE@"}}, "invalid_characters"),
    ({"scenario": SERIES_SCENARIO, "series": SERIES, "params": {"@SURROGATE@": 1}}, "invalid_characters"),
    ({"scenario": CHANNEL_SCENARIO, "series": {"pm25@SURROGATE@": [1.0]}}, "invalid_characters"),
]:
        refused(400, code, raw=_with_lone_surrogate(template))


def test_odd_unicode_scenario_is_unknown(refused):
    for value in list(ODD_UNICODE.values()):
        refused(404, "unknown_scenario", body={"scenario": value, "series": SERIES})


def test_odd_unicode_params_are_refused(refused):
    for value in list(ODD_UNICODE.values()):
        refused(400, "invalid_params", body={**SERIES_BODY, "params": {"period": value}})


def test_nul_in_every_text_field(refused):
    refused(400, "invalid_characters", body={"scenario": TEXT_SCENARIO, "text": "a\x00b"})
    refused(400, "invalid_source", body={"scenario": SERIES_SCENARIO, "series": SERIES, "source": "a\x00"})
    refused(400, "invalid_characters", body={"scenario": CHANNEL_SCENARIO, "series": {"pm\x0025": [1.0]}})
    refused(400, "invalid_characters", body={"scenario": "crowd\x00", "series": SERIES})


# --- injection strings in every text field ----------------------------------------------------------


def test_injection_as_scenario(refused):
    for value in INJECTIONS:
        refused(404, "unknown_scenario", body={"scenario": value, "series": SERIES})


def test_injection_as_params_value_and_key(refused):
    for value in INJECTIONS:
        refused(400, "invalid_params", body={**SERIES_BODY, "params": {"period": value}})
        refused(400, "invalid_params", body={"scenario": SERIES_SCENARIO, "series": SERIES, "params": {value: "night"}})


def test_injection_in_the_query_string(api_a):
    for value in INJECTIONS:
        response = api_a.get(URL, {"scenario": value, "status": value})
        assert response.status_code == 200 and response.json()["results"] == []
        response = api_a.post(f"{URL}?wait={value}", {"scenario": SERIES_SCENARIO, "series": SERIES}, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_wait"
        assert InferenceRequest.objects.count() == 0


@pytest.fixture
def portal_a(operator_a):
    client = Client()
    client.force_login(operator_a)
    return client


def _accepted(api_a, body, **extra) -> InferenceRequest:
    response = api_a.post(URL, body, format="json", **extra)
    assert response.status_code == 202, response.content[:500]
    return InferenceRequest.objects.get(pk=response.json()["id"])


def _shown_escaped(portal_a, row: InferenceRequest, value: str) -> None:
    page = portal_a.get(f"/requests/{row.pk}/").content.decode()
    assert escape(value) in page
    if escape(value) != value:
        assert value not in page


def test_injection_as_source_is_stored_verbatim_and_shown_escaped(api_a, portal_a):
    for value in [*INJECTIONS, *ODD_UNICODE.values()]:
        if not value.isprintable():  # RTL and zero-width marks: format characters, refused
            rows = InferenceRequest.objects.count()
            response = api_a.post(URL, {"scenario": SERIES_SCENARIO, "series": SERIES, "source": value}, format="json")
            assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_source"
            assert InferenceRequest.objects.count() == rows
            continue
        row = _accepted(api_a, {"scenario": SERIES_SCENARIO, "series": SERIES, "source": value})
        assert row.source == value
        _shown_escaped(portal_a, row, value)


def test_injection_as_text_input_is_stored_verbatim_and_shown_escaped(api_a, portal_a):
    for value in [*INJECTIONS, *ODD_UNICODE.values()]:
        row = _accepted(api_a, {"scenario": TEXT_SCENARIO, "text": f"小区门口{value}垃圾堆放"})
        assert row.input_data == f"小区门口{value}垃圾堆放"
        _shown_escaped(portal_a, row, f"小区门口{value}垃圾堆放")


def test_injection_as_idempotency_key_is_stored_verbatim(api_a):
    for value in INJECTIONS:
        row = _accepted(api_a, {"scenario": SERIES_SCENARIO, "series": SERIES}, HTTP_IDEMPOTENCY_KEY=value)
        assert row.idempotency_key == value
        again = api_a.post(URL, {"scenario": SERIES_SCENARIO, "series": SERIES}, format="json",
                           HTTP_IDEMPOTENCY_KEY=value)
        assert again.status_code == 202 and again.json()["id"] == str(row.pk)
    assert InferenceRequest.objects.count() == len(INJECTIONS)


def test_injection_as_series_channel_name(api_a, portal_a):
    for value in [*INJECTIONS, "🚒🔥", "e\u0301"]:
        rows = InferenceRequest.objects.count()
        body = {"scenario": CHANNEL_SCENARIO, "series": {value[:64]: [35.0, 80.0]}}
        response = api_a.post(URL, body, format="json")
        if response.status_code == 202:
            row = InferenceRequest.objects.get(pk=response.json()["id"])
            assert row.input_data == {value[:64]: [35.0, 80.0]}
            assert portal_a.get(f"/requests/{row.pk}/").status_code == 200
        else:
            assert response.status_code == 400, response.content
            assert response.json()["error"]["code"] in ("invalid_series", "invalid_params")
            assert InferenceRequest.objects.count() == rows
