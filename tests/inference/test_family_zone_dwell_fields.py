"""Scenarios of the zone, dwell and document-field families, through the real Triton."""

import io
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from services.core.errors import ApplicationError
from services.inference.pipelines.dwell import continue_tracks, iou
from services.inference.pipelines.ocr_fields import find_uscc, parse_fields, uscc_is_valid
from tests.images import example, poster

pytestmark = [pytest.mark.triton, pytest.mark.django_db]

CENTRE = [[0.42, 0.3], [0.85, 0.3], [0.85, 0.5], [0.42, 0.5]]  # where the pedestrians of crowd.jpg walk
LAWN = [[0.0, 0.6], [0.5, 0.6], [0.5, 1.0], [0.0, 1.0]]  # grass, nobody on it
CAR_PARK = [[0.78, 0.0], [1.0, 0.0], [1.0, 0.25], [0.78, 0.25]]  # the parked van and car


def snapshot(seed: int) -> bytes:
    """The same scene as another snapshot would show it: sensor noise, a little shift and exposure change."""
    rng = np.random.default_rng(seed)
    frame = np.asarray(Image.open(io.BytesIO(example("crowd.jpg"))).convert("RGB")).astype(np.int16)
    frame = np.roll(frame, shift=int(rng.integers(-3, 4)), axis=1) + int(rng.integers(-12, 13))
    frame = (frame + rng.normal(0, 4, frame.shape)).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, "JPEG", quality=88)
    return buf.getvalue()


# --- count in zone ------------------------------------------------------------------------------


def test_danger_zone_intrusion(run_scenario):
    hit = run_scenario("danger-zone-intrusion", image=example("crowd.jpg"), params={"zone": CENTRE})
    assert hit.status == "succeeded" and hit.alert and hit.result["count"] >= 3
    quiet = run_scenario("danger-zone-intrusion", image=example("crowd.jpg"), params={"zone": LAWN})
    assert quiet.alert is False and quiet.result["count"] == 0


def test_guard_post_unattended_fires_when_nobody_is_there(run_scenario):
    empty = run_scenario("guard-post-unattended", image=example("crowd.jpg"), params={"zone": LAWN})
    assert empty.alert is True and empty.result["count"] == 0
    staffed = run_scenario("guard-post-unattended", image=example("crowd.jpg"), params={"zone": CENTRE})
    assert staffed.alert is False and staffed.result["count"] >= 1


def test_waterside_intrusion(run_scenario):
    assert run_scenario("waterside-intrusion", image=example("crowd.jpg"), params={"zone": CENTRE}).alert is True
    assert run_scenario("waterside-intrusion", image=example("crowd.jpg"), params={"zone": LAWN}).alert is False


def test_bus_stop_crowding(run_scenario):
    busy = run_scenario("bus-stop-crowding", image=example("crowd.jpg"), params={"zone": CENTRE, "min_count": 4})
    assert busy.alert is True
    calm = run_scenario("bus-stop-crowding", image=example("crowd.jpg"), params={"zone": CENTRE})
    assert calm.alert is False and calm.result["count"] < 15


def test_bus_lane_occupation(run_scenario):
    taken = run_scenario("bus-lane-occupation", image=example("crowd.jpg"), params={"zone": CAR_PARK})
    assert taken.alert is True and set(taken.result["count_by_class"]) <= {"car", "truck"}
    free = run_scenario("bus-lane-occupation", image=example("crowd.jpg"), params={"zone": CENTRE})
    assert free.alert is False


# --- dwell --------------------------------------------------------------------------------------


def test_track_continuation_is_a_pure_function():
    now = timezone.now()
    earlier = (now - timedelta(seconds=400)).isoformat()
    previous = [{"label": "car", "box": [0, 0, 10, 10], "since": earlier, "dwell_s": 200, "alerted": False}]
    tracks = continue_tracks(previous, [{"label": "car", "box": [1, 0, 11, 10]}], now=now, min_iou=0.5,
                             min_dwell_s=300)
    assert tracks[0]["since"] == earlier and tracks[0]["fires"] and tracks[0]["alerted"]
    again = continue_tracks(tracks, [{"label": "car", "box": [1, 0, 11, 10]}], now=now, min_iou=0.5,
                            min_dwell_s=300)
    assert again[0]["alerted"] and not again[0]["fires"]
    moved = continue_tracks(previous, [{"label": "car", "box": [50, 50, 60, 60]}], now=now, min_iou=0.5,
                            min_dwell_s=300)
    assert moved[0]["dwell_s"] == 0 and iou([0, 0, 10, 10], [50, 50, 60, 60]) == 0


def test_illegal_parking_fires_once_after_the_allowed_time(run_scenario):
    start = timezone.now() - timedelta(minutes=30)
    fired = []
    for minute in (0, 3, 6, 9):
        row = run_scenario("vehicle-illegal-parking", image=snapshot(minute), params={"zone": CAR_PARK},
                           source="cam-longgang-017", at=start + timedelta(minutes=minute))
        assert row.status == "succeeded", row.error_message
        fired.append(row.alert)
    # 5 minutes allowed: quiet at 0 and 3 min, fires at 6, stays quiet at 9 (already reported).
    assert fired == [False, False, True, False]


def test_loitering_fires_when_the_zone_stays_occupied(run_scenario):
    start = timezone.now() - timedelta(minutes=30)
    alerts = [
        run_scenario("loitering", image=snapshot(s), params={"zone": CENTRE}, source="cam-bank-2",
                     at=start + timedelta(seconds=s)).alert
        for s in (0, 240, 480, 660, 900)
    ]
    assert alerts == [False, False, False, True, False]
    lawn = [
        run_scenario("loitering", image=snapshot(s), params={"zone": LAWN}, source="cam-bank-3",
                     at=start + timedelta(seconds=s)).alert
        for s in (0, 660)
    ]
    assert lawn == [False, False]


def test_dwell_needs_a_source(run_scenario):
    with pytest.raises(ApplicationError, match="send a 'source'") as refused:
        run_scenario("loitering", image=example("crowd.jpg"))
    assert refused.value.code == "source_required" and refused.value.status == 400  # refused before queueing


# --- document fields ----------------------------------------------------------------------------


def test_credit_code_check_character():
    assert uscc_is_valid("91350100M000100Y43") and uscc_is_valid("91110000600037341L")
    assert not uscc_is_valid("91350100M000100Y44")
    assert find_uscc("代码 9135O1OOMOOO1OOY43 名称") == "91350100M000100Y43"  # O read for 0
    assert parse_fields(["名称：某某公司", "住所 龙岗区"], {"name": ["名称"], "address": ["住所"]}) == {
        "name": "某某公司", "address": "龙岗区"}


def test_business_licence_is_read_and_checked(run_scenario):
    row = run_scenario("business-licence-check", image=example("licence.jpg"))
    assert row.status == "succeeded", row.error_message
    assert row.result["credit_code"] == "91440307MA5F8K2LXD" and row.result["credit_code_valid"]
    assert row.result["fields"]["name"] == "深圳市龙岗区绿源环保科技有限公司"
    assert row.result["fields"]["legal_representative"] == "李明"
    assert row.alert is False


def test_a_licence_with_a_wrong_check_character_is_flagged(run_scenario):
    forged = poster(["营业执照", "统一社会信用代码 91440307MA5F8K2LX7", "名称 深圳市龙岗区某某贸易有限公司",
                     "法定代表人 王强", "住所 深圳市龙岗区布吉街道1号"], size=(1280, 860), seed=5, fmt="JPEG")
    row = run_scenario("business-licence-check", image=forged)
    assert row.status == "succeeded" and row.alert is True
    assert row.result["credit_code"] == "91440307MA5F8K2LX7" and not row.result["credit_code_valid"]


def test_emergency_lane_stop_fires_after_a_minute(run_scenario):
    start = timezone.now() - timedelta(minutes=10)
    alerts = [
        run_scenario("emergency-lane-stopping", image=snapshot(s), params={"zone": CAR_PARK}, source="expressway-k12",
                     at=start + timedelta(seconds=s)).alert
        for s in (0, 30, 70)
    ]
    assert alerts == [False, False, True]
    moving_on = run_scenario("emergency-lane-stopping", image=snapshot(5), params={"zone": LAWN},
                             source="expressway-k13", at=start + timedelta(seconds=200))
    assert moving_on.alert is False and moving_on.result["in_zone"] == 0
