"""A GBK complaint reaches the service as the complaint: every way text comes in (multipart part with
a charset, a JSON or text/plain body with one, .txt/.csv uploads, the portal) is decoded by the
declared charset, or refused with a 400 saying which encoding was expected and where it failed."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from services.inference.models import InferenceRequest
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
URL = "/api/v1/requests"
SCENARIO = "complaint-routing"
COMPLAINT = "占道经营：商贩在人行道上摆摊，行人只能走机动车道。"
BOUNDARY = "cityaiTextBoundary0123"


def multipart(*parts: tuple[str, bytes, str | None, str | None]) -> bytes:
    """(name, body, content type, file name) parts, written out byte by byte as a hotline system would."""
    out = b""
    for name, body, content_type, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + body + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def post_multipart(client, *parts):
    return client.post(URL, multipart(("scenario", SCENARIO.encode(), None, None), *parts),
                       content_type=f"multipart/form-data; boundary={BOUNDARY}")


def stored_text() -> str:
    return InferenceRequest.objects.get().input_data


def assert_refused(response, encoding: str, offset: int) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_encoding", error
    assert (error["details"]["encoding"], error["details"]["offset"]) == (encoding, offset)
    assert encoding in error["message"] and f"offset {offset}" in error["message"]
    assert InferenceRequest.objects.count() == 0


@pytest.mark.parametrize("charset", ["gbk", "gb2312", "GB18030"])
def test_a_multipart_text_part_with_a_gb_charset(api_a, charset):
    response = post_multipart(api_a, ("text", COMPLAINT.encode("gbk"), f"text/plain; charset={charset}", None))
    assert response.status_code == 202, response.content
    assert stored_text() == COMPLAINT


def test_a_multipart_text_part_in_utf8_without_a_charset(api_a):
    response = post_multipart(api_a, ("text", COMPLAINT.encode(), None, None))
    assert response.status_code == 202, response.content
    assert stored_text() == COMPLAINT


def test_gbk_bytes_in_a_multipart_part_without_a_charset_are_refused(api_a):
    # 占 (d5 bc) is also valid UTF-8; 道 (b5 c0) is not: decoding fails at byte 2.
    response = post_multipart(api_a, ("text", COMPLAINT.encode("gbk"), None, None))
    assert_refused(response, "UTF-8", 2)
    assert "The form field 'text'" in response.json()["error"]["message"]


def test_a_part_that_lies_about_its_charset_is_refused(api_a):
    response = post_multipart(api_a, ("text", "占道".encode("gbk") + b"\xff\xfe", "text/plain; charset=gbk", None))
    assert_refused(response, "GB18030", 4)


def test_a_txt_file_part_with_its_charset(api_a):
    response = post_multipart(api_a, ("text", COMPLAINT.encode("gbk"), "text/plain; charset=gbk", "complaint.txt"))
    assert response.status_code == 202, response.content
    assert stored_text() == COMPLAINT


def test_a_txt_file_part_without_a_charset_must_be_utf8(api_a):
    response = post_multipart(api_a, ("text", COMPLAINT.encode("gbk"), "text/plain", "complaint.txt"))
    assert_refused(response, "UTF-8", 2)


def test_a_json_body_in_gb18030(api_a):
    body = json.dumps({"scenario": SCENARIO, "text": COMPLAINT}, ensure_ascii=False).encode("gb18030")
    response = api_a.post(URL, body, content_type="application/json; charset=gb18030")
    assert response.status_code == 202, response.content
    assert stored_text() == COMPLAINT


def test_a_json_body_with_invalid_utf8_is_refused_not_replaced(api_a):
    prefix = json.dumps({"scenario": SCENARIO, "text": "x"})[:-2].encode()  # …"text": "
    body = prefix + COMPLAINT.encode("gbk") + b'"}'
    response = api_a.post(URL, body, content_type="application/json")
    assert_refused(response, "UTF-8", len(prefix) + 2)


def test_a_text_plain_body_in_gbk_with_the_scenario_in_the_query(api_a):
    response = api_a.post(f"{URL}?scenario={SCENARIO}&source=hotline-12345", COMPLAINT.encode("gbk"),
                          content_type="text/plain; charset=gbk")
    assert response.status_code == 202, response.content
    obj = InferenceRequest.objects.get()
    assert (obj.input_data, obj.source) == (COMPLAINT, "hotline-12345")


def test_an_unknown_charset_is_refused(api_a):
    response = api_a.post(f"{URL}?scenario={SCENARIO}", b"abc", content_type="text/plain; charset=klingon-8")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_charset"


def test_a_csv_series_file_part_in_gbk(api_a):
    csv = "时间,水位\n08:00,1.0\n08:05,1.2\n08:10,1.1\n08:15,1.3\n08:20,1.2\n08:25,1.4\n08:30,1.3\n08:35,1.2\n"
    response = api_a.post(URL, multipart(("scenario", b"bridge-vibration-anomaly", None, None),
                                         ("series", csv.encode("gbk"), "text/csv; charset=gbk", "levels.csv")),
                          content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code == 202, response.content
    # The time column is dropped; the channel keeps its Chinese name.
    assert InferenceRequest.objects.get().input_data == {"水位": [1.0, 1.2, 1.1, 1.3, 1.2, 1.4, 1.3, 1.2]}


def test_an_image_upload_with_a_non_ascii_file_name_keeps_its_name(api_a):
    from tests.inference.test_submit_api import png_bytes

    body = multipart(("scenario", b"crowd-gathering", None, None), ("image", png_bytes(), "image/png", None))
    body = body.replace(b'name="image"', 'name="image"; filename="路口.png"'.encode())
    response = api_a.post(URL, body, content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code == 202, response.content
    assert InferenceRequest.objects.get().input_name == "路口.png"


@pytest.fixture
def portal(client, operator_a):
    client.login(username=operator_a.username, password=PASSWORD)
    return client


def test_the_portal_reads_a_gbk_txt_file_when_told_its_encoding(portal):
    upload = SimpleUploadedFile("complaint.txt", COMPLAINT.encode("gbk"), content_type="text/plain")
    response = portal.post(f"/requests/new/{SCENARIO}/", {"text": "", "text_file": upload,
                                                             "file_charset": "gb18030"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert stored_text() == COMPLAINT


def test_the_portal_refuses_a_gbk_csv_declared_as_utf8(portal):
    upload = SimpleUploadedFile("levels.csv", "占道桥振动\n1.0\n1.2\n".encode("gbk"), content_type="text/csv")
    response = portal.post("/requests/new/bridge-vibration-anomaly/", {"series_file": upload,
                                                                         "file_charset": "utf-8"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "UTF-8" in page and "offset 2" in page
    assert InferenceRequest.objects.count() == 0
