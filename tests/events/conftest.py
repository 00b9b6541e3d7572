"""People of the event loop: the responsible bureau (public security owns crowd-gathering) with an
operator and a manager; bureau A submits; bureau B is the outsider."""

import hashlib
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from services.accounts.models import Bureau, Membership
from services.accounts.selectors import Actor
from services.accounts.services import member_upsert
from services.catalog.models import Scenario
from services.inference.models import InferenceRequest
from tests.conftest import PASSWORD

SCENARIO = "crowd-gathering"
OWNER = "public-security"


@pytest.fixture
def owner(catalog) -> Bureau:
    return Bureau.objects.get(slug=OWNER)


@pytest.fixture
def owner_op(owner):
    return member_upsert(bureau=owner, username="ps_op", password=PASSWORD, role=Membership.Role.OPERATOR).user


@pytest.fixture
def owner_mgr(owner):
    return member_upsert(bureau=owner, username="ps_mgr", password=PASSWORD, role=Membership.Role.MANAGER).user


def actor_of(user) -> Actor:
    return Actor(bureau=user.membership.bureau, role=user.membership.role, user=user)


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def fired(bureau_a):
    """A finished request whose rule fired, as the worker leaves it (for tests of what happens after
    the event exists; tests/events/test_from_triton.py makes one through the real Triton)."""

    def make(*, source: str = "cam-1", at=None, slug: str = SCENARIO, result: dict | None = None,
             bureau=None) -> InferenceRequest:
        scenario = Scenario.objects.get(slug=slug)
        request = InferenceRequest.objects.create(
            bureau=bureau or bureau_a, scenario=scenario, source=source, input_kind=scenario.input_kind,
            input_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            input_data="路口有人占道经营，堵塞人行道" if scenario.input_kind == "text" else None,
            status=InferenceRequest.Status.SUCCEEDED, alert=True, finished_at=timezone.now(),
            result=result or {"summary": "7 person in zone (≥ 5)", "count": 7, "min_count": 5,
                              "objects": [{"label": "person"}] * 7},
        )
        if at is not None:
            InferenceRequest.objects.filter(pk=request.pk).update(created_at=at, captured_at=at)
            request.refresh_from_db()
        return request

    return make
