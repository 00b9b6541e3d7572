"""Lists stay fast on a long history: counting stops past CITYAI_LIST_COUNT_CAP and says so."""

import io

import pytest
from django.test import Client
from PIL import Image

URL = "/api/v1/requests"


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 100, 110)).save(buf, "PNG")
    return buf.getvalue()


def submit(api, n):
    from django.core.files.uploadedfile import SimpleUploadedFile

    for i in range(n):
        response = api.post(URL, {"scenario": "crowd-gathering", "source": f"cam-{i}",
                                  "image": SimpleUploadedFile("x.png", png(), content_type="image/png")},
                            format="multipart")
        assert response.status_code == 202, response.content


@pytest.mark.django_db
def test_api_list_counts_exactly_up_to_the_cap_then_says_more(api_a, settings):
    settings.CITYAI_LIST_COUNT_CAP = 3
    submit(api_a, 3)
    body = api_a.get(URL + "?limit=2").json()
    assert (body["count"], body["count_is_lower_bound"], len(body["results"])) == (3, False, 2)
    submit(api_a, 2)
    body = api_a.get(URL + "?limit=2").json()
    assert (body["count"], body["count_is_lower_bound"]) == (4, True)
    # Pages go on past the cap.
    assert body["next"] is not None
    page = api_a.get(URL + "?limit=2&offset=4").json()
    assert len(page["results"]) == 1


@pytest.mark.django_db
def test_portal_list_says_more_than_the_cap(api_a, operator_a, settings):
    settings.CITYAI_LIST_COUNT_CAP = 2
    submit(api_a, 3)
    client = Client()
    client.force_login(operator_a)
    page = client.get("/requests/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "More than 2 requests" in page or "超过 2 条请求" in page
