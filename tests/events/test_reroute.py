"""A dispatcher re-routes a 12345 complaint (API and portal): the event changes hands, the complaint
becomes an exemplar of the right bureau, both are audited, and outsiders and wrong steps are refused.
That the next training uses the exemplar is tested through the real Triton in
tests/inference/test_routing.py."""

import pytest

from services.accounts.models import Bureau, Membership
from services.accounts.services import member_upsert
from services.audit.models import AuditEntry
from services.catalog.exemplars import routing_exemplars_load
from services.catalog.models import RoutingExemplar
from services.events.models import Event, EventReroute
from tests.conftest import PASSWORD
from tests.events.conftest import logged_in
from tests.signals import finished_heard

pytestmark = pytest.mark.django_db

ROUTED = {"summary": "→ 交通运输局 (transport), confidence 0.31", "bureau": "transport", "confidence": 0.31}


@pytest.fixture
def routed_event(catalog, fired):
    routing_exemplars_load()
    request = fired(slug="complaint-routing", source="12345", result=ROUTED)
    finished_heard(request.pk)
    return Event.objects.get(occurrences__request=request)


@pytest.fixture
def transport_op(catalog):
    bureau = Bureau.objects.get(slug="transport")
    return member_upsert(bureau=bureau, username="tr_op", password=PASSWORD, role=Membership.Role.OPERATOR).user


def test_reroute_through_the_api_teaches_and_audits(routed_event, operator_a, operator_b, auditor, transport_op,
                                                    django_capture_on_commit_callbacks):
    url = f"/api/v1/events/{routed_event.pk}/reroute"
    assert logged_in(operator_b).post(url, {"bureau": "urban-management", "reason": "占道"}).status_code == 404
    assert logged_in(auditor).post(url, {"bureau": "urban-management", "reason": "占道"}).status_code == 403
    op = logged_in(operator_a)  # the submitting bureau: the 12345 centre's dispatcher
    missing = op.post(url, {"bureau": "urban-management", "reason": " "}, format="json")
    assert missing.status_code == 400
    unknown = op.post(url, {"bureau": "bureau-b", "reason": "占道经营归城管"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_bureau"
    same = op.post(url, {"bureau": "transport", "reason": "占道经营归城管"}, format="json")
    assert same.status_code == 400 and same.json()["error"]["code"] == "same_bureau"
    assert not RoutingExemplar.objects.filter(origin=RoutingExemplar.Origin.REROUTE).exists()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = op.post(url, {"bureau": "urban-management", "reason": "占道经营归城管"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["bureau"] == "urban-management"
    assert len(callbacks) >= 2  # the event change and the routing-data change are announced after commit

    routed_event.refresh_from_db()
    assert routed_event.bureau.slug == "urban-management" and routed_event.status == Event.Status.NEW
    exemplar = RoutingExemplar.objects.get(origin=RoutingExemplar.Origin.REROUTE)
    assert exemplar.text == "路口有人占道经营，堵塞人行道" and exemplar.target_bureau.slug == "urban-management"
    assert exemplar.source_request == routed_event.first_request_id and exemplar.note == "占道经营归城管"
    assert exemplar.added_by == operator_a.membership.bureau
    reroute = EventReroute.objects.get(event=routed_event)
    assert (reroute.from_bureau.slug, reroute.to_bureau.slug, reroute.exemplar) == ("transport", "urban-management",
                                                                                    exemplar)
    review = AuditEntry.objects.get(action=AuditEntry.Action.REVIEW, object_id=str(routed_event.pk))
    assert review.details_data["decision"] == "reroute" and review.details_data["to"] == "urban-management"
    assert AuditEntry.objects.filter(object_type="routing_exemplar", object_id=str(exemplar.pk)).exists()

    # Transport no longer holds it; once reviewed, it cannot be re-routed again.
    assert logged_in(transport_op).get(f"/api/v1/events/{routed_event.pk}").status_code == 404
    Event.objects.filter(pk=routed_event.pk).update(status=Event.Status.CONFIRMED)
    late = op.post(url, {"bureau": "water-affairs", "reason": "再改"}, format="json")
    assert late.status_code == 409 and late.json()["error"]["code"] == "not_reroutable"


def test_only_routed_complaints_can_be_rerouted(catalog, fired, operator_a):
    request = fired()  # crowd gathering: not a routing scenario
    finished_heard(request.pk)
    event = Event.objects.get(occurrences__request=request)
    refused = logged_in(operator_a).post(f"/api/v1/events/{event.pk}/reroute",
                                         {"bureau": "urban-management", "reason": "x" * 5}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_routable"


def test_the_responsible_bureau_reroutes_in_the_portal(routed_event, transport_op):
    client = logged_in(transport_op)
    page = client.get(f"/events/{routed_event.pk}/").content.decode()
    assert 'name="bureau"' in page and 'value="water-affairs"' in page and 'value="transport"' not in page
    answer = client.post(f"/events/{routed_event.pk}/reroute/", {"bureau": "subdistrict-bantian",
                                                                  "reason": "坂田社区内部事务"})
    assert answer.status_code == 302 and answer.url == "/events/"  # handed away: back to the queue
    assert Event.objects.get(pk=routed_event.pk).bureau.slug == "subdistrict-bantian"
    assert RoutingExemplar.objects.filter(origin="reroute", target_bureau__slug="subdistrict-bantian").count() == 1
