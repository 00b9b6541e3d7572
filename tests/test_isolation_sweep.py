"""Isolation, swept: every URL that names one object answers 404 to another bureau — through the
API with a department key and through the portal with a logged-in operator — and the owner really
can open the same URLs (so the 404s are about scoping, not about wrong ids)."""

import io
import uuid
from datetime import timedelta

import pytest
from django.urls import get_resolver
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from services.accounts.models import Membership
from services.accounts.selectors import Actor
from services.accounts.services import api_client_create, member_upsert
from services.events.models import Event, WorkOrder
from services.inference import inputs
from services.inference.services import inference_request_submit
from services.sources.models import Binding, Source
from services.webhooks.models import Webhook, WebhookDelivery
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 90, 90)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def objects_of_b(bureau_b, operator_b):
    """One object of every kind that has its own URL, all belonging to bureau B."""
    actor = Actor(bureau=bureau_b, role=Membership.Role.OPERATOR, user=operator_b)
    request, _ = inference_request_submit(actor=actor, scenario_slug="crowd-gathering",
                                          checked=inputs.check_image(png()))
    now = timezone.now()
    event = Event.objects.create(
        scenario=request.scenario, bureau=bureau_b, source_bureau=bureau_b, source="cam-b", first_request=request,
        last_request=request, first_seen_at=now, last_seen_at=now,
    )
    work_order = WorkOrder.objects.create(event=event, assignee_bureau=bureau_b, dispatcher_bureau=bureau_b,
                                          due_at=now + timedelta(hours=4))
    client, _ = api_client_create(bureau=bureau_b, name="dept B")
    webhook = Webhook.objects.create(bureau=bureau_b, api_client=client, url="https://b.example/hook",
                                     secret="s" * 32, events=["request.finished"])
    delivery = WebhookDelivery.objects.create(webhook=webhook, bureau=bureau_b, event="request.finished",
                                              object_id=str(request.id), payload={})
    source = Source.objects.create(bureau=bureau_b, name="cam B", mode=Source.Mode.PUSH,
                                   zones=[{"name": "z", "polygon": [[0, 0], [1, 0], [1, 1]]}])
    binding = Binding.objects.create(source=source, scenario=request.scenario)
    return {"request_id": request.id, "event_id": event.id, "work_order_id": work_order.id,
            "key_id": client.id, "webhook_id": webhook.id, "delivery_id": delivery.id,
            "source_id": source.id, "binding_id": binding.id}


def object_urls(ids: dict) -> list[tuple[str, str]]:
    """(method, url) for every route whose only argument(s) are object ids (plus an action word)."""
    urls = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns, prefix + str(p.pattern))
                continue
            route = prefix + str(p.pattern)
            names = {name for name in ids if f"<uuid:{name}>" in route}
            if not names or route.startswith("admin"):
                continue
            url = "/" + route
            for name in names:
                url = url.replace(f"<uuid:{name}>", str(ids[name]))
            url = url.replace("<str:action>", "accept")
            method = "post" if any(w in route for w in ("revoke", "review", "dispatch", "action", "photo")) else "get"
            urls.append((method, url))

    walk(get_resolver().url_patterns)
    return urls


def swap_ids(url: str, ids: dict) -> str:
    for value in ids.values():
        url = url.replace(str(value), str(uuid.uuid4()))
    return url


def test_another_bureau_gets_404_everywhere(objects_of_b, bureau_a, operator_a, operator_b):
    urls = object_urls(objects_of_b)
    assert len(urls) >= 20, urls  # the sweep really covers the API and the portal
    _, key = api_client_create(bureau=bureau_a, name="dept A")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    portal = APIClient()
    portal.force_login(operator_a)
    manager_a = member_upsert(bureau=bureau_a, username="mgr_a", password=PASSWORD, role=Membership.Role.MANAGER)
    manager = APIClient()
    manager.force_login(manager_a.user)
    leaks = []
    for method, url in urls:
        for who, client in (("api key of A", api), ("operator of A", portal), ("manager of A", manager)):
            if url.startswith("/api/") and who != "api key of A":
                continue
            if not url.startswith("/api/") and who == "api key of A":
                continue
            # A valid-looking body, so that what answers is the scoping, not input validation.
            body = {"decision": "confirm", "reason": "isolation sweep"} if method == "post" else None
            status = getattr(client, method)(url, body).status_code
            # Indistinguishable from an id that does not exist, and never a success.
            stranger = getattr(client, method)(swap_ids(url, objects_of_b), body).status_code
            if status != 404 and (status != stranger or status < 400):
                leaks.append((who, method.upper(), url, status, stranger))
    assert leaks == [], "\n".join(map(str, leaks))


def test_the_owner_reaches_the_same_objects(objects_of_b, operator_b):
    owner = APIClient()
    owner.force_login(operator_b)
    for path in (f"/requests/{objects_of_b['request_id']}/", f"/events/{objects_of_b['event_id']}/",
                 f"/api/v1/requests/{objects_of_b['request_id']}", f"/api/v1/events/{objects_of_b['event_id']}",
                 f"/api/v1/work-orders/{objects_of_b['work_order_id']}", f"/sources/{objects_of_b['source_id']}/",
                 f"/api/v1/sources/{objects_of_b['source_id']}"):
        assert owner.get(path).status_code == 200, path


def test_situation_view_shows_a_bureau_only_its_own(objects_of_b, bureau_a, operator_a, operator_b, auditor):
    """The situation view (/ops/, the wall, its map fragment and /api/v1/ops/situation) has no object
    ids to sweep: instead, bureau A's views must not mention B's source, event or bureau at all, while
    B's own views and an auditor's (the district) do."""
    from decimal import Decimal

    Source.objects.filter(pk=objects_of_b["source_id"]).update(latitude=Decimal("22.72"), longitude=Decimal("114.25"))
    Event.objects.filter(pk=objects_of_b["event_id"]).update(source=f"source:{objects_of_b['source_id']}")
    secrets = (str(objects_of_b["source_id"]), str(objects_of_b["event_id"]), "cam B", "乙局", "bureau-b")
    paths = ("/ops/", "/ops/wall/", "/ops/map/", "/api/v1/ops/situation")
    for user, sees in ((operator_a, False), (operator_b, True), (auditor, True)):
        client = APIClient()
        client.force_login(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (user, path)
            body = response.content.decode()
            if path == "/api/v1/ops/situation":
                body = str(response.json())  # the JSON escapes Chinese text
            found = [s for s in secrets if s in body]
            if sees:
                assert str(objects_of_b["event_id"]) in body or (path == "/ops/map/" and "cam B" in body), (user, path)
            else:
                assert found == [], (path, found)
