"""What leaves an audit entry: logins, keys, roles, entitlements, catalog changes, result views,
and the auditor page's own verification."""

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from services.accounts.models import Membership
from services.accounts.services import api_client_create, api_client_revoke, member_upsert
from services.audit.models import AuditCheck, AuditEntry
from services.catalog.models import Scenario
from services.catalog.services import catalog_data, catalog_load, entitlement_upsert
from services.inference.models import InferenceRequest
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
Action = AuditEntry.Action


def _last(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).latest("seq")


def _count(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


def test_logins_and_failed_logins(client, operator_a):
    client.post("/login/", {"username": "op_a", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    entry = _last(Action.LOGIN)
    assert (entry.actor, entry.bureau, entry.details_data["ip"]) == ("user:op_a", "bureau-a", "10.1.2.3")
    client.post("/login/", {"username": "op_a", "password": "wrong-password"})
    failed = _last(Action.LOGIN_FAILED)
    assert failed.details_data["username"] == "op_a" and "wrong-password" not in failed.details
    client.post("/logout/")
    assert _last(Action.LOGOUT).actor == "user:op_a"


def test_api_keys_created_and_revoked(bureau_a, operator_a):
    client, _ = api_client_create(bureau=bureau_a, name="traffic cams", created_by=operator_a)
    created = _last(Action.API_KEY_CREATED)
    assert (created.actor, created.bureau, created.object_id) == ("user:op_a", "bureau-a", str(client.pk))
    assert created.details_data["prefix"] == client.prefix and "key_hash" not in created.details
    api_client_revoke(client=client, revoked_by=operator_a)
    api_client_revoke(client=client, revoked_by=operator_a)  # already revoked: nothing happens
    assert AuditEntry.objects.filter(action=Action.API_KEY_REVOKED, object_id=str(client.pk)).count() == 1


def test_role_changes(bureau_a, operator_a):
    member_upsert(bureau=bureau_a, username="op_a", password=PASSWORD, role=Membership.Role.OPERATOR)
    before = _count(Action.ROLE_CHANGED)  # the same role again: no entry
    member_upsert(bureau=bureau_a, username="op_a", password=PASSWORD, role=Membership.Role.MANAGER)
    assert _count(Action.ROLE_CHANGED) == before + 1
    assert _last(Action.ROLE_CHANGED).details_data["previous"]["role"] == "operator"


def test_entitlement_changes(bureau_a):
    scenario = Scenario.objects.filter(status=Scenario.Status.ACTIVE).first()
    before = _count(Action.ENTITLEMENT_CHANGED)
    entitlement_upsert(bureau=bureau_a, scenario=scenario)  # unchanged
    assert _count(Action.ENTITLEMENT_CHANGED) == before
    entitlement_upsert(bureau=bureau_a, scenario=scenario, daily_quota=50, by="user:admin")
    entry = _last(Action.ENTITLEMENT_CHANGED)
    assert entry.actor == "user:admin" and entry.object_id == f"bureau-a:{scenario.slug}"
    assert entry.details_data["values"]["daily_quota"] == 50
    assert entry.details_data["previous"]["daily_quota"] == 1000


def test_catalog_load_leaves_an_entry_only_when_something_changed(catalog):
    before = _count(Action.CATALOG_CHANGED)
    catalog_load()
    assert _count(Action.CATALOG_CHANGED) == before
    data = catalog_data()
    data["scenarios"][0]["name_en"] += " (renamed)"
    catalog_load(data=data, by="command:load_catalog")
    entry = _last(Action.CATALOG_CHANGED)
    assert entry.actor == "command:load_catalog"
    assert entry.details_data["updated"] == [f"scenario:{data['scenarios'][0]['slug']}"]


def _request(bureau, status=InferenceRequest.Status.SUCCEEDED) -> InferenceRequest:
    scenario = Scenario.objects.filter(status=Scenario.Status.ACTIVE).first()
    return InferenceRequest.objects.create(
        bureau=bureau, scenario=scenario, input_kind=scenario.input_kind, input_sha256="0" * 64, status=status,
        result={"summary": "ok"}, finished_at=timezone.now(),
    )


def test_who_viewed_which_result(bureau_a, api_a, api_b, auditor):
    request = _request(bureau_a)
    assert api_a.get(f"/api/v1/requests/{request.pk}").status_code == 200
    entry = _last(Action.REQUEST_VIEWED)
    assert entry.actor.startswith("api-client:") and entry.object_id == str(request.pk)
    assert entry.details_data == {"part": "result", "owner_bureau": "bureau-a", "scenario": request.scenario.slug}
    views = _count(Action.REQUEST_VIEWED)
    assert api_b.get(f"/api/v1/requests/{request.pk}").status_code == 404  # another bureau: nothing seen
    queued = _request(bureau_a, InferenceRequest.Status.QUEUED)
    api_a.get(f"/api/v1/requests/{queued.pk}")  # no result yet: polling leaves no entry
    assert _count(Action.REQUEST_VIEWED) == views
    auditor_client = APIClient()
    auditor_client.force_login(auditor)
    auditor_client.get(f"/api/v1/requests/{request.pk}")
    entry = _last(Action.REQUEST_VIEWED)
    assert (entry.actor, entry.bureau, entry.details_data["owner_bureau"]) == (
        "user:auditor", "audit-office", "bureau-a")


def test_portal_request_page_views_are_recorded(bureau_a, operator_a, operator_b, client):
    request = _request(bureau_a)
    client.force_login(operator_a)
    assert client.get(f"/requests/{request.pk}/").status_code == 200
    entry = _last(Action.REQUEST_VIEWED)
    assert (entry.actor, entry.object_id, entry.details_data["part"]) == ("user:op_a", str(request.pk), "result")
    views = _count(Action.REQUEST_VIEWED)
    client.force_login(operator_b)
    assert client.get(f"/requests/{request.pk}/").status_code == 404
    assert _count(Action.REQUEST_VIEWED) == views


def test_auditor_page_lists_filters_and_verifies(auditor, bureau_a, client):
    client.force_login(auditor)
    api_client_create(bureau=bureau_a, name="for the page")
    page = client.get("/reports/audit/", {"action": Action.API_KEY_CREATED})
    text = page.content.decode()
    assert page.status_code == 200 and "创建 API 密钥" in text and "尚未校验" in text
    response = client.post("/reports/audit/")
    assert response.status_code == 302
    assert AuditCheck.objects.latest("checked_at").ok
    assert "校验通过" in client.get("/reports/audit/").content.decode()
    # A tampered chain shows as broken, naming the entry.
    table = AuditEntry._meta.db_table
    target = AuditEntry.objects.order_by("seq")[1]
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER audit_entry_no_update_delete")
        cursor.execute(f"UPDATE {table} SET actor = 'user:nobody' WHERE seq = %s", [target.seq])
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER audit_entry_no_update_delete")
    client.post("/reports/audit/")
    text = client.get("/reports/audit/").content.decode()
    assert "已断裂" in text and f"#{target.seq}" in text
    check = AuditCheck.objects.latest("checked_at")
    assert not check.ok and check.first_broken_seq == target.seq


def _manager(bureau):
    return member_upsert(bureau=bureau, username="mgr_a", password=PASSWORD, role=Membership.Role.MANAGER).user


def test_a_key_revoked_in_the_portal_names_the_manager(client, bureau_a):
    manager = _manager(bureau_a)
    key, _ = api_client_create(bureau=bureau_a, name="traffic cams", created_by=manager)
    client.force_login(manager)
    response = client.post(f"/bureau/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=Action.API_KEY_REVOKED, object_id=str(key.pk))
    assert (entry.actor, entry.bureau) == ("user:mgr_a", "bureau-a")


def test_an_operator_added_in_the_portal_is_audited(client, bureau_a):
    client.force_login(_manager(bureau_a))
    before = _count(Action.ROLE_CHANGED)
    response = client.post("/bureau/members/", {
        "username": "new_op", "email": "", "password": "a-long-Passphrase-42", "password2": "a-long-Passphrase-42",
    })
    assert response.status_code == 302, response.content
    assert _count(Action.ROLE_CHANGED) == before + 1
    entry = _last(Action.ROLE_CHANGED)
    assert (entry.actor, entry.bureau, entry.object_type) == ("user:mgr_a", "bureau-a", "user")
    assert entry.details_data == {"username": "new_op", "role": "operator", "bureau": "bureau-a",
                                  "previous": None, "created": True}
