"""The webhook API: the secret is shown once, URLs are checked, and every object is scoped to its bureau."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from services.accounts.models import ApiClient, Membership
from services.accounts.services import member_upsert
from services.inference.models import InferenceRequest
from services.webhooks.models import Webhook, WebhookDelivery
from tests.conftest import PASSWORD
from tests.signals import finished_heard

URL = "/api/v1/webhooks"


def create(client, url="https://hooks.example.org/cityai", **extra):
    return client.post(URL, {"url": url, **extra}, format="json")


@pytest.mark.django_db
def test_secret_is_shown_once(api_a):
    created = create(api_a)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["request.finished"] and body["active"]
    listed = api_a.get(URL).json()["results"]
    assert [h["id"] for h in listed] == [body["id"]]
    assert "secret" not in listed[0] and "secret" not in api_a.get(body["detail_url"]).json()
    assert body["secret"] not in api_a.get(body["detail_url"]).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "http://hooks.example.org/x", "ftp://127.0.0.1/x", "https://user:pw@example.org/", "not a url", "",
])
def test_bad_urls_are_refused(api_a, url):
    response = create(api_a, url=url)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_url"
    assert Webhook.objects.count() == 0


@pytest.mark.django_db
def test_http_to_loopback_and_unknown_events(api_a):
    assert create(api_a, url="http://127.0.0.1:8080/hook").status_code == 201
    assert create(api_a, url="http://localhost/hook").status_code == 201
    bad = create(api_a, events=["request.exploded"])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_events"


@pytest.mark.django_db
def test_other_bureau_gets_404_for_webhook_deliveries_and_revoke(api_a, api_b):
    hook = create(api_a).json()
    request = api_a.post("/api/v1/requests", {"scenario": "bridge-vibration-anomaly", "series": [1.0, 2.0]},
                         format="json").json()
    InferenceRequest.objects.filter(pk=request["id"]).update(status="succeeded", finished_at=timezone.now())
    finished_heard(request["id"])
    delivery = WebhookDelivery.objects.get()
    assert api_a.get(f"{URL}/{hook['id']}/deliveries").json()["results"][0]["id"] == str(delivery.pk)
    assert api_a.get(f"/api/v1/webhook-deliveries/{delivery.pk}").status_code == 200

    for response in (
        api_b.get(f"{URL}/{hook['id']}"),
        api_b.get(f"{URL}/{hook['id']}/deliveries"),
        api_b.get(f"/api/v1/webhook-deliveries/{delivery.pk}"),
        api_b.delete(f"{URL}/{hook['id']}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert api_b.get(URL).json()["results"] == []
    assert Webhook.objects.get().revoked_at is None


@pytest.mark.django_db
def test_manager_registers_for_own_clients_only_operator_and_auditor_cannot(bureau_a, bureau_b, api_a, api_b,
                                                                           operator_a, api_auditor):
    manager = member_upsert(bureau=bureau_a, username="mgr_a", password=PASSWORD, role=Membership.Role.MANAGER).user
    client = APIClient()
    client.force_login(manager)
    own = ApiClient.objects.get(bureau=bureau_a)
    other = ApiClient.objects.get(bureau=bureau_b)
    assert create(client, api_client=str(own.pk)).status_code == 201
    assert create(client, api_client=str(other.pk)).status_code == 404
    assert create(client, api_client="not-a-uuid").status_code == 404
    operator = APIClient()
    operator.force_login(operator_a)
    assert create(operator, api_client=str(own.pk)).status_code == 403
    assert create(api_auditor, api_client=str(own.pk)).status_code == 403
    # The auditor reads every bureau's webhooks (no secrets), the operator their bureau's.
    assert len(api_auditor.get(URL).json()["results"]) == 1
    assert len(operator.get(URL).json()["results"]) == 1
    # An API key cannot register a webhook for another client, even of its own bureau.
    assert create(api_b, api_client=str(own.pk)).status_code == 403
