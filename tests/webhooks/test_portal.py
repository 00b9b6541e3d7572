"""The webhooks tab of bureau administration: managers of the bureau only; another bureau's is a 404."""

import pytest
from django.test import Client

from services.accounts.models import ApiClient, Membership
from services.accounts.services import member_upsert
from services.webhooks.models import Webhook
from tests.conftest import PASSWORD


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_manager_registers_sees_the_secret_once_and_revokes(bureau_a, bureau_b, api_a, api_b, operator_a):
    manager_a = member_upsert(bureau=bureau_a, username="mgr_a", password=PASSWORD, role=Membership.Role.MANAGER).user
    manager_b = member_upsert(bureau=bureau_b, username="mgr_b", password=PASSWORD, role=Membership.Role.MANAGER).user
    page = login(manager_a)
    client_a = ApiClient.objects.get(bureau=bureau_a)
    assert page.get("/bureau/webhooks/").status_code == 200
    created = page.post("/bureau/webhooks/", {"api_client": str(client_a.pk), "url": "https://hooks.example.org/a"})
    assert created.status_code == 200
    webhook = Webhook.objects.get()
    assert webhook.secret in created.content.decode() and created["Cache-Control"] == "no-store"
    assert webhook.secret not in page.get("/bureau/webhooks/").content.decode()

    bad = page.post("/bureau/webhooks/", {"api_client": str(client_a.pk), "url": "http://example.org/"})
    assert bad.status_code == 400 and Webhook.objects.count() == 1
    other_client = ApiClient.objects.get(bureau=bureau_b)
    assert page.post("/bureau/webhooks/", {"api_client": str(other_client.pk),
                                           "url": "https://hooks.example.org/b"}).status_code == 404

    assert login(manager_b).post(f"/bureau/webhooks/{webhook.pk}/revoke/").status_code == 404
    assert "hooks.example.org/a" not in login(manager_b).get("/bureau/webhooks/").content.decode()
    assert login(operator_a).get("/bureau/webhooks/").status_code == 403
    webhook.refresh_from_db()
    assert webhook.revoked_at is None
    assert page.post(f"/bureau/webhooks/{webhook.pk}/revoke/").status_code == 302
    webhook.refresh_from_db()
    assert webhook.revoked_at is not None
