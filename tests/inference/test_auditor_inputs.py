"""Auditors read results and metadata of every bureau's requests, never the submitted input."""

import io

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from services.inference.models import InferenceRequest

SECRET_TEXT = "居民投诉：幸福路12号夜间施工噪声扰民"


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 130, 140)).save(buf, "PNG")
    return buf.getvalue()


def _finish(request_id: str) -> InferenceRequest:
    """Mark a submitted request finished with a result and an annotated image (no worker needed)."""
    obj = InferenceRequest.objects.get(pk=request_id)
    obj.annotated_image.save("annotated.jpg", ContentFile(b"\xff\xd8\xff\xe0 fake jpeg"), save=False)
    InferenceRequest.objects.filter(pk=obj.pk).update(
        status=InferenceRequest.Status.SUCCEEDED, result={"summary": "result stays visible", "count": 3},
        annotated_image=obj.annotated_image.name,
    )
    return obj


@pytest.fixture
def image_request(api_a) -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("cam.png", png_bytes(), content_type="image/png")
    response = api_a.post("/api/v1/requests", {"scenario": "crowd-gathering", "image": upload}, format="multipart")
    assert response.status_code == 202, response.content
    return _finish(response.json()["id"]).pk


@pytest.fixture
def text_request(bureau_a) -> str:
    from services.catalog.models import Scenario

    slug = Scenario.objects.filter(input_kind="text", status=Scenario.Status.ACTIVE).values_list("slug", flat=True)[0]
    from services.accounts.services import api_client_create

    _, key = api_client_create(bureau=bureau_a, name="text dept")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = client.post("/api/v1/requests", {"scenario": slug, "text": SECRET_TEXT}, format="json")
    assert response.status_code == 202, response.content
    return _finish(response.json()["id"]).pk


@pytest.mark.django_db
def test_api_auditor_sees_the_result_but_not_the_image(api_auditor, api_a, image_request):
    detail = api_auditor.get(f"/api/v1/requests/{image_request}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["result"]["summary"] == "result stays visible"
    assert body["input"]["sha256"] and body["input"]["bytes"] > 0
    assert body["annotated_image_url"] is None
    image = api_auditor.get(f"/api/v1/requests/{image_request}/annotated.jpg")
    assert image.status_code == 403
    assert image.json()["error"]["code"] == "raw_input_forbidden"
    # The owning bureau still gets both.
    assert api_a.get(f"/api/v1/requests/{image_request}").json()["annotated_image_url"]
    assert api_a.get(f"/api/v1/requests/{image_request}/annotated.jpg").status_code == 200


@pytest.mark.django_db
def test_portal_auditor_gets_no_input_file_and_no_annotated_image(auditor, operator_a, image_request):
    client = Client()
    client.force_login(auditor)
    page = client.get(f"/requests/{image_request}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "result stays visible" in html
    assert f"/requests/{image_request}/input" not in html
    assert f"/requests/{image_request}/annotated.jpg" not in html
    assert client.get(f"/requests/{image_request}/input").status_code == 403
    assert client.get(f"/requests/{image_request}/annotated.jpg").status_code == 403
    owner = Client()
    owner.force_login(operator_a)
    assert owner.get(f"/requests/{image_request}/input").status_code == 200
    assert f"/requests/{image_request}/input" in owner.get(f"/requests/{image_request}/").content.decode()


@pytest.mark.django_db
def test_portal_auditor_does_not_see_input_text(auditor, operator_a, text_request):
    client = Client()
    client.force_login(auditor)
    for url in (f"/requests/{text_request}/", f"/requests/{text_request}/live"):
        response = client.get(url)
        assert response.status_code == 200
        assert SECRET_TEXT not in response.content.decode()
    api = APIClient()
    api.force_login(auditor)
    assert SECRET_TEXT not in api.get(f"/api/v1/requests/{text_request}").content.decode()
    owner = Client()
    owner.force_login(operator_a)
    assert SECRET_TEXT in owner.get(f"/requests/{text_request}/").content.decode()


@pytest.mark.django_db
def test_auditor_cannot_submit(api_auditor):
    response = api_auditor.post("/api/v1/requests", {"scenario": "crowd-gathering", "text": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "cannot_submit"
    assert InferenceRequest.objects.count() == 0
