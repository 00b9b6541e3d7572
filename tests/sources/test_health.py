"""Source health without a worker: a camera that dies is offline after N failed pulls with a growing,
capped backoff, and back online (with requests again) when it returns; the beat's claim never pulls
a camera twice; a recorded video plays frame after frame over pulls."""

from datetime import timedelta

import cv2
import numpy as np
import pytest
from django.test import override_settings
from django.utils import timezone

from services.inference.models import InferenceRequest
from services.sources.models import Binding, Source
from services.sources.services import binding_create, source_create, source_pull, sources_schedule_due
from tests.sources.conftest import actor_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def camera(manager_a, frame_server) -> Source:
    scene = frame_server.scenes["street"]
    source = source_create(actor=actor_of(manager_a), name="东门路口", kind="camera", mode="pull",
                           url=frame_server.url("street"), zones=[{"name": "kerb", "polygon": scene.zone}])
    binding_create(actor=actor_of(manager_a), source=source, scenario_slug="vehicle-illegal-parking",
                   zone_name="kerb", interval_s=60)
    return source


def test_a_dead_camera_goes_offline_with_backoff_and_recovers(camera, frame_server, bureau_a):
    start = timezone.now() - timedelta(hours=1)
    first = source_pull(source_id=camera.pk, now=start)
    assert first.ok and len(first.requests) == 1
    camera.refresh_from_db()
    assert camera.status == "online" and camera.last_frame and camera.next_pull_at == start + timedelta(seconds=60)

    frame_server.stop()
    waits, statuses, now = [], [], start + timedelta(seconds=60)
    for _ in range(7):
        outcome = source_pull(source_id=camera.pk, now=now)
        assert not outcome.ok and "cannot reach the source" in outcome.error
        camera.refresh_from_db()
        waits.append((camera.next_pull_at - now).total_seconds())
        statuses.append(camera.status)
        now = camera.next_pull_at
    assert waits == [10, 20, 40, 80, 160, 300, 300]  # doubling from 10 s, capped at 5 min
    assert statuses == ["online", "online", "offline", "offline", "offline", "offline", "offline"]
    assert camera.consecutive_failures == 7 and "cannot reach the source" in camera.last_error
    assert InferenceRequest.objects.count() == 1  # no request for a frame that never came

    frame_server.start()  # the same port: the camera is back
    back = source_pull(source_id=camera.pk, now=now)
    assert back.ok and len(back.requests) == 1
    camera.refresh_from_db()
    assert (camera.status, camera.consecutive_failures, camera.last_error) == ("online", 0, "")
    assert camera.last_seen_at == now and camera.next_pull_at == now + timedelta(seconds=60)
    request = back.requests[0]
    assert (request.bureau, request.source, request.captured_at) == (bureau_a, camera.request_source, now)
    assert request.params["zone"] == frame_server.scenes["street"].zone


def test_a_refused_binding_is_not_a_broken_camera(camera, bureau_a):
    from services.catalog.models import Entitlement

    Entitlement.objects.filter(bureau=bureau_a, scenario__slug="vehicle-illegal-parking").update(daily_quota=0)
    outcome = source_pull(source_id=camera.pk)
    assert outcome.ok and not outcome.requests
    camera.refresh_from_db()
    binding = Binding.objects.get(source=camera)
    assert camera.status == "online" and camera.consecutive_failures == 0
    assert binding.last_error.startswith("quota_exceeded") and binding.last_request is None


def test_the_beat_claims_each_due_camera_once(camera):
    now = timezone.now()
    Source.objects.filter(pk=camera.pk).update(next_pull_at=now - timedelta(seconds=1))
    assert sources_schedule_due(now=now) == 1
    assert sources_schedule_due(now=now) == 0  # a second beat, or the same tick again
    camera.refresh_from_db()
    assert camera.next_pull_at > now  # leased until the pull reports back
    lease_over = camera.next_pull_at + timedelta(seconds=1)
    assert sources_schedule_due(now=lease_over) == 1  # a pull lost with its worker is tried again
    Source.objects.filter(pk=camera.pk).update(enabled=False, next_pull_at=None)
    assert sources_schedule_due(now=lease_over) == 0


def test_bindings_run_on_their_own_intervals(camera, manager_a):
    binding_create(actor=actor_of(manager_a), source=camera, scenario_slug="loitering", interval_s=180)
    start = timezone.now() - timedelta(hours=1)
    ran = []
    for step in range(7):
        outcome = source_pull(source_id=camera.pk, now=start + timedelta(seconds=60 * step))
        ran.append(sorted(r.scenario.slug for r in outcome.requests))
    parking, both = ["vehicle-illegal-parking"], ["loitering", "vehicle-illegal-parking"]
    assert ran == [both, parking, parking, both, parking, parking, both]


def test_a_video_file_source_plays_over_pulls(manager_a, tmp_path, bureau_a):
    path = tmp_path / "gate.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (96, 64))
    for colour in [(0, 0, 255), (0, 255, 0), (255, 0, 0)]:
        writer.write(np.full((64, 96, 3), colour, np.uint8))
    writer.release()
    with override_settings(CITYAI_SOURCES_VIDEO_ROOT=tmp_path):
        source = source_create(actor=actor_of(manager_a), name="录像", kind="camera", mode="pull", url=path.as_uri())
    binding_create(actor=actor_of(manager_a), source=source, scenario_slug="loitering", interval_s=5)
    start, dominant = timezone.now() - timedelta(minutes=5), []
    for step in range(4):
        outcome = source_pull(source_id=source.pk, now=start + timedelta(seconds=5 * step))
        assert outcome.ok and len(outcome.requests) == 1
        source.refresh_from_db()
        pixel = cv2.imdecode(np.frombuffer(source.last_frame.read(), np.uint8), cv2.IMREAD_COLOR)[32, 48]
        source.last_frame.close()
        dominant.append(int(np.argmax(pixel)))
    assert dominant == [2, 1, 0, 2]  # red, green, blue, red again


def test_bindings_of_one_scenario_go_in_one_batch_and_the_quota_counts_each(manager_a, frame_server, bureau_a):
    """Two zones of one camera watched by the same scenario: one pull submits both together (one
    batch), each its own request with its own zone; a quota with one unit left takes the first and
    refuses the second, on that binding only."""
    from services.catalog.models import Entitlement

    scene = frame_server.scenes["street"]
    whole = [[0, 0], [1, 0], [1, 1], [0, 1]]
    source = source_create(actor=actor_of(manager_a), name="两个车位", kind="camera", mode="pull",
                           url=frame_server.url("street"),
                           zones=[{"name": "kerb", "polygon": scene.zone}, {"name": "all", "polygon": whole}])
    for zone in ("kerb", "all"):
        binding_create(actor=actor_of(manager_a), source=source, scenario_slug="vehicle-illegal-parking",
                       zone_name=zone, interval_s=60)
    first = source_pull(source_id=source.pk)
    assert first.ok and len(first.requests) == 2

    def points(zone) -> list:
        return [[float(x), float(y)] for x, y in zone]

    assert sorted(points(r.params["zone"]) for r in first.requests) == sorted([points(scene.zone), points(whole)])
    assert len({r.pk for r in first.requests}) == 2

    Entitlement.objects.filter(bureau=bureau_a, scenario__slug="vehicle-illegal-parking").update(daily_quota=3)
    later = source_pull(source_id=source.pk, now=timezone.now() + timedelta(seconds=61))
    assert later.ok and len(later.requests) == 1 and len(later.refused) == 1
    refused = Binding.objects.get(pk=next(iter(later.refused)))
    assert refused.last_error.startswith("quota_exceeded")
    assert InferenceRequest.objects.filter(source=source.request_source).count() == 3
