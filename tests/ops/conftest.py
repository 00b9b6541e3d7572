"""People and alerts of the situation view: the operations centre (an auditor of the operations-centre
bureau, the role the district's staff hold), bureau A (which submits and owns events), bureau B (the
outsider) and public security (which owns crowd-gathering and so receives A's crowd alerts)."""

import hashlib
import io
import uuid
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw
from rest_framework.test import APIClient

from services.accounts.models import Bureau, Membership
from services.accounts.services import bureau_upsert, member_upsert
from services.catalog.models import Scenario
from services.inference.models import InferenceRequest
from services.inference.services import announce_finished
from services.sources.models import Source
from tests.conftest import PASSWORD


@pytest.fixture
def ops_centre(catalog):
    centre = bureau_upsert(slug="platform", name_zh="区智慧城市运营中心",
                           name_en="District Smart City Operations Centre")
    return member_upsert(bureau=centre, username="ops_centre", password=PASSWORD, role=Membership.Role.AUDITOR).user


@pytest.fixture
def police(catalog) -> Bureau:
    return Bureau.objects.get(slug="public-security")


@pytest.fixture
def police_op(police):
    return member_upsert(bureau=police, username="ps_op", password=PASSWORD, role=Membership.Role.OPERATOR).user


@pytest.fixture
def manager_a(bureau_a):
    return member_upsert(bureau=bureau_a, username="mgr_a", password=PASSWORD, role=Membership.Role.MANAGER).user


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def camera(bureau, name: str, lat: str, lng: str) -> Source:
    return Source.objects.create(bureau=bureau, name=name, mode=Source.Mode.PUSH, status=Source.Status.ONLINE,
                                 latitude=Decimal(lat), longitude=Decimal(lng))


def jpeg(label: str) -> bytes:
    image = Image.new("RGB", (320, 240), (40, 70, 110))
    ImageDraw.Draw(image).rectangle((100, 60, 220, 200), outline=(255, 60, 60), width=4)
    ImageDraw.Draw(image).text((10, 10), label, fill=(255, 255, 255))
    buf = io.BytesIO()
    image.save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def alert():
    """A finished request whose rule fired, announced as the worker announces it
    (``announce_finished``), so that the real receivers record the event and meter the usage."""

    def make(bureau, *, slug: str = "crowd-gathering", source: str = "", snapshot: bool = False,
             text: str = "", compute_ms: float = 40.0) -> InferenceRequest:
        scenario = Scenario.objects.get(slug=slug)
        now = timezone.now()
        request = InferenceRequest.objects.create(
            bureau=bureau, scenario=scenario, source=source, input_kind=scenario.input_kind,
            input_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(), input_data=text or None,
            status=InferenceRequest.Status.SUCCEEDED, alert=True, finished_at=now, started_at=now,
            queue_ms=5.0, compute_ms=compute_ms, total_ms=compute_ms + 20,
            result={"summary": "7 person in zone (≥ 5)", "count": 7, "alert": True},
        )
        if snapshot:
            request.annotated_image.save(f"{request.pk}.jpg", ContentFile(jpeg(slug)), save=True)
        announce_finished([request])
        return request

    return make
