"""People and cameras of the source tests: a manager and an operator of bureau A, a manager of the
outsider bureau B, and a frame server of our own on loopback playing generated scenes."""

import pytest
from rest_framework.test import APIClient

from services.accounts.models import Membership
from services.accounts.selectors import Actor
from services.accounts.services import member_upsert
from tests.conftest import PASSWORD
from tests.sources.frameserver import FrameServer


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def actor_of(user) -> Actor:
    return Actor(bureau=user.membership.bureau, role=user.membership.role, user=user)


@pytest.fixture
def manager_a(bureau_a):
    return member_upsert(bureau=bureau_a, username="mgr_a", password=PASSWORD, role=Membership.Role.MANAGER).user


@pytest.fixture
def manager_b(bureau_b):
    return member_upsert(bureau=bureau_b, username="mgr_b", password=PASSWORD, role=Membership.Role.MANAGER).user


@pytest.fixture
def frame_server():
    """Cameras "street" (a car with a readable plate parks, then leaves) and "lawn" (people linger,
    then leave), from tests/frames.py; stopped after the test."""
    from tests.frames import lingering_people_frames, parked_car_frames

    server = FrameServer()
    street = parked_car_frames(8, leaves_after=6)
    lawn = lingering_people_frames(6, leaves_after=5)
    server.add("street", street.frames)
    server.add("lawn", lawn.frames)
    server.scenes = {"street": street, "lawn": lawn}
    server.start()
    yield server
    server.stop()
