"""Live sources through real processes: Celery beat schedules pulls of our loopback camera, a real
worker grabs the frames and runs the scenarios on the real Triton under bureau A's quota; the
multi-frame scenarios fire exactly once over a played scene, from HTTP cameras and from an RTSP
stream kept open; a camera that dies goes offline and comes back. Nothing leaves 127.0.0.1.

Run with ``CITYAI_TEST_TRITON_MODELS=object_detector,plate_reader`` to load only the models used.
"""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from itertools import pairwise

import cv2
import numpy as np
import pytest
from django.utils import timezone

from services.catalog.models import Entitlement
from services.events.models import Event
from services.inference.models import InferenceRequest
from services.sources import streams
from services.sources.grabbers import SourceUnavailable
from services.sources.models import Binding, Source
from services.sources.services import binding_create, pull_limits, source_create, source_pull
from tests.frames import lingering_people_frames
from tests.processes import ROOT, WorkerProcess, wait_for
from tests.sources.conftest import actor_of
from tests.sources.rtspserver import RtspServer

pytestmark = [pytest.mark.triton, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FAST_RETRIES = {
    "CITYAI_SOURCES_TICK_SECONDS": "1",
    "CITYAI_SOURCES_BACKOFF_SECONDS": "1",
    "CITYAI_SOURCES_BACKOFF_MAX_SECONDS": "2",
    "CITYAI_SOURCES_TIMEOUT_SECONDS": "3",
}


@pytest.fixture(scope="module")
def worker(worker_factory) -> WorkerProcess:
    return worker_factory(queues="sources,high,normal,bulk", extra_env=FAST_RETRIES)


@pytest.fixture
def beat(worker, artifacts_dir, tmp_path):
    """A real `celery beat` with a one-second tick, on the worker's database and broker."""
    log = open(artifacts_dir / "beat-sources.log", "ab")
    env = {**worker.env(), **FAST_RETRIES}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cityai", "beat", "--schedule", str(tmp_path / "beat-schedule"),
         "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


def finished(ids) -> list[InferenceRequest]:
    rows = list(InferenceRequest.objects.filter(pk__in=ids))
    return rows if len(rows) == len(ids) and all(r.is_terminal for r in rows) else []


def test_beat_pulls_on_schedule_under_the_bureau_quota_and_a_dead_camera_recovers(
    beat, frame_server, manager_a, bureau_a, api_a
):
    scene = frame_server.scenes["street"]
    Entitlement.objects.filter(bureau=bureau_a, scenario__slug="vehicle-illegal-parking").update(daily_quota=3)
    camera = source_create(actor=actor_of(manager_a), name="东门路口", kind="camera", mode="pull",
                           url=frame_server.url("street"), zones=[{"name": "kerb", "polygon": scene.zone}])
    binding = binding_create(actor=actor_of(manager_a), source=camera, scenario_slug="vehicle-illegal-parking",
                             zone_name="kerb", interval_s=5)
    ours = InferenceRequest.objects.filter(source=camera.request_source)

    # (a) Pulls every 5 s become ordinary requests of bureau A, until its daily quota of 3 is spent.
    wait_for(lambda: Binding.objects.filter(pk=binding.pk, last_error__startswith="quota_exceeded").exists(),
             60, "the fourth pull to hit the quota")
    rows = wait_for(lambda: finished(list(ours.values_list("pk", flat=True))), 60, "the three requests")
    assert len(rows) == 3 and all(r.status == "succeeded" for r in rows), [r.error_message for r in rows]
    assert {(r.bureau_id, r.scenario.slug, r.submitted_by_id, r.api_client_id) for r in rows} == {
        (bureau_a.pk, "vehicle-illegal-parking", None, None)}
    times = sorted(r.captured_at for r in rows)
    assert all(b - a >= timedelta(seconds=4.5) for a, b in pairwise(times))  # on schedule
    assert all(r.params["zone"] == scene.zone for r in rows)
    quota = api_a.get("/api/v1/quota").json()
    parking = next(s for s in quota["scenarios"] if s["scenario"] == "vehicle-illegal-parking")
    assert (parking["used_today"], parking["remaining_today"]) == (3, 0)
    camera.refresh_from_db()
    # A refusal is the binding's, not the camera's fault.
    assert camera.status == "online" and camera.consecutive_failures == 0 and camera.last_frame

    # (c) The camera dies: offline after 3 failed pulls, with the reason.
    Entitlement.objects.filter(bureau=bureau_a, scenario__slug="vehicle-illegal-parking").update(daily_quota=1000)
    frame_server.stop()
    wait_for(lambda: Source.objects.filter(pk=camera.pk, status="offline").exists(), 60, "the camera to go offline")
    camera.refresh_from_db()
    assert camera.consecutive_failures >= 3 and "cannot reach the source" in camera.last_error
    before = ours.count()

    # … and comes back on the same address: online again, and the requests resume.
    restarted = timezone.now()
    frame_server.start()
    wait_for(lambda: Source.objects.filter(pk=camera.pk, status="online").exists(), 60, "the camera to come back")
    new = wait_for(lambda: list(ours.filter(created_at__gt=restarted)), 60, "a request after the recovery")
    assert ours.count() > before and new[0].source == camera.request_source
    camera.refresh_from_db()
    assert camera.consecutive_failures == 0 and camera.last_error == "" and camera.last_seen_at > restarted


def play(frame_server, name, source, steps, start, step_s) -> dict[str, list[InferenceRequest]]:
    """Show frame i of camera ``name`` and pull it at start + i × step_s; the worker runs each request
    before the next frame, as a camera pulled every step_s seconds would. Rows by scenario."""
    by_scenario: dict[str, list[InferenceRequest]] = {}
    for i in range(steps):
        frame_server.show(name, i)
        outcome = source_pull(source_id=source.pk, now=start + timedelta(seconds=step_s * i))
        assert outcome.ok and outcome.requests, outcome
        ids = [r.pk for r in outcome.requests]
        for row in wait_for(lambda ids=ids: finished(ids), 90, f"frame {i} of {name}"):
            assert row.status == "succeeded", row.error_message
            by_scenario.setdefault(row.scenario.slug, []).append(row)
    return by_scenario


def test_multi_frame_scenarios_fire_exactly_once_over_a_played_scene(worker, frame_server, manager_a, bureau_a):
    manager = actor_of(manager_a)
    street, lawn = frame_server.scenes["street"], frame_server.scenes["lawn"]
    # The street camera is a snapshot URL, the lawn camera an MJPEG stream.
    street_cam = source_create(actor=manager, name="东门路口", kind="camera", mode="pull",
                               url=frame_server.url("street"), zones=[{"name": "kerb", "polygon": street.zone}])
    lawn_cam = source_create(actor=manager, name="中心公园草坪", kind="camera", mode="pull",
                             url=frame_server.url("lawn", "stream.mjpg"),
                             zones=[{"name": "lawn", "polygon": lawn.zone}])
    for slug in ("vehicle-illegal-parking", "illegal-parking-by-plate"):
        binding_create(actor=manager, source=street_cam, scenario_slug=slug, zone_name="kerb", interval_s=120)
    binding_create(actor=manager, source=lawn_cam, scenario_slug="loitering", zone_name="lawn", interval_s=240)
    start = timezone.now() - timedelta(hours=2)

    # A car parks for 12 minutes (frames 0–5, 2 min apart; 5 min allowed), then the kerb is empty.
    rows = play(frame_server, "street", street_cam, len(street), start, 120)
    assert street.present == [True] * 6 + [False] * 2
    assert [r.alert for r in rows["vehicle-illegal-parking"]] == [False, False, False, True, False, False, False, False]
    by_plate = rows["illegal-parking-by-plate"]
    assert [r.alert for r in by_plate] == [False, False, False, True, False, False, False, False]
    assert by_plate[3].result["firing"] == [street.plate]

    # People linger on the lawn for 16 minutes (4 min apart; 10 min allowed), then leave.
    lingering = play(frame_server, "lawn", lawn_cam, len(lawn), start, 240)["loitering"]
    assert [r.alert for r in lingering] == [False, False, False, True, False, False]

    # One event per scenario and camera, raised by the worker from the alert.
    def events():
        return Event.objects.filter(source_bureau=bureau_a, source__startswith="source:")

    wait_for(lambda: events().count() == 3, 20, "three events")
    assert sorted(events().values_list("scenario__slug", "source", "occurrence_count")) == sorted([
        ("illegal-parking-by-plate", street_cam.request_source, 1),
        ("loitering", lawn_cam.request_source, 1),
        ("vehicle-illegal-parking", street_cam.request_source, 1),
    ])
    street_cam.refresh_from_db()
    lawn_cam.refresh_from_db()
    assert street_cam.status == lawn_cam.status == "online"
    assert frame_server.cameras["lawn"].hits == len(lawn)  # one MJPEG connection per pull


def test_loitering_fires_once_from_a_played_rtsp_stream_kept_open(worker, manager_a, bureau_a, tmp_path):
    """The lawn scene played as an H.264 RTSP stream by GStreamer's server; the binding's short interval
    keeps the stream open, so every pull takes the reader's next decoded frame."""
    lawn = lingering_people_frames(6, leaves_after=5)
    for i, frame in enumerate(lawn.frames):
        (tmp_path / f"{i}.jpg").write_bytes(frame)
    width, height = lawn.size
    server = RtspServer({"/lawn": {"frames": str(tmp_path), "width": width, "height": height, "fps": 10,
                                   "bitrate": 2000}}).start()
    scene = [cv2.imdecode(np.frombuffer(f, np.uint8), cv2.IMREAD_COLOR).astype(np.int16) for f in lawn.frames]

    def shown(jpeg: bytes) -> int:
        """Which scene frame the decoded stream frame is (the closest one)."""
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(np.int16)
        return int(np.argmin([np.abs(image - s).mean() for s in scene]))

    try:
        manager = actor_of(manager_a)
        cam = source_create(actor=manager, name="中心公园 RTSP", kind="camera", mode="pull",
                            url=server.url("/lawn"), zones=[{"name": "lawn", "polygon": lawn.zone}])
        binding_create(actor=manager, source=cam, scenario_slug="loitering", zone_name="lawn", interval_s=10)
        start, alerts = timezone.now() - timedelta(hours=1), []
        for i in range(len(lawn)):
            server.show("/lawn", i)
            reader = streams.registry().reader(str(cam.pk), cam.url, pull_limits())

            def showing(i=i, reader=reader):
                try:
                    return lawn.present[shown(reader.frame(max_age_s=10).jpeg)] == lawn.present[i]
                except SourceUnavailable:
                    return False

            wait_for(showing, 60, f"the stream to show frame {i}")
            # Four minutes apart in capture time, as a camera pulled every 4 min would be.
            outcome = source_pull(source_id=cam.pk, now=start + timedelta(seconds=240 * i))
            assert outcome.ok and len(outcome.requests) == 1, outcome
            row = wait_for(lambda ids=[outcome.requests[0].pk]: finished(ids), 90, f"frame {i}")[0]
            assert row.status == "succeeded", row.error_message
            alerts.append(row.alert)
        reader = streams.registry().reader(str(cam.pk), cam.url, pull_limits())
        assert reader.opens == 1  # one session for the whole scene
        assert alerts == [False, False, False, True, False, False]
        wait_for(lambda: Event.objects.filter(source=cam.request_source).exists(), 20, "the loitering event")
        assert list(Event.objects.filter(source=cam.request_source).values_list("scenario__slug", "occurrence_count")) \
            == [("loitering", 1)]
    finally:
        streams.registry().close_all(wait=10)
        server.stop()
