"""Abandoned object (rule family unattended_object): pure tracking functions, and the scenario
through the real Triton over a generated street sequence (tests/frames.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from services.inference.pipelines.unattended import distance_m, follow_objects, is_attended
from tests.frames import left_object_frames

BAG = [100.0, 300.0, 140.0, 340.0]  # ground point (120, 340)


def test_distance_uses_the_person_as_a_ruler():
    near_person = [130.0, 170.0, 190.0, 340.0]  # 170 px tall, ground point 40 px from the bag's
    assert distance_m(BAG, near_person) == pytest.approx(40 / 170 * 1.7)
    far_small = [400.0, 300.0, 410.0, 340.0]  # 40 px tall (far from the camera), 285 px away
    assert distance_m(BAG, far_small) == pytest.approx(285 / 40 * 1.7)
    assert is_attended(BAG, [near_person, far_small], 3.0) and not is_attended(BAG, [far_small], 3.0)
    assert not is_attended(BAG, [], 3.0) and not is_attended(BAG, [[0, 5, 10, 5]], 3.0)


def _step(previous, attended, at, *, box=BAG, label="suitcase", gap=150):
    current = [] if attended is None else [{"label": label, "box": box, "attended": attended}]
    return follow_objects(previous, current, now=at, min_iou=0.3, min_unattended_s=120, max_gap_s=gap)


def test_the_clock_runs_only_while_the_object_is_alone_and_fires_once():
    t0 = timezone.now()
    tracks = _step([], True, t0)
    assert tracks[0]["unattended_since"] is None and not tracks[0]["fires"]
    tracks = _step(tracks, False, t0 + timedelta(seconds=60))
    tracks = _step(tracks, False, t0 + timedelta(seconds=120))
    assert tracks[0]["unattended_s"] == 60 and not tracks[0]["alerted"]
    tracks = _step(tracks, True, t0 + timedelta(seconds=150))  # the owner is back: the clock restarts
    tracks = _step(tracks, False, t0 + timedelta(seconds=200))
    tracks = _step(tracks, False, t0 + timedelta(seconds=300))
    assert tracks[0]["unattended_s"] == 100 and not tracks[0]["fires"]
    tracks = _step(tracks, False, t0 + timedelta(seconds=320))
    assert tracks[0]["fires"] and tracks[0]["since"] == t0.isoformat()
    tracks = _step(tracks, False, t0 + timedelta(seconds=380))
    assert tracks[0]["alerted"] and not tracks[0]["fires"]


def test_a_missed_detection_keeps_the_object_and_leaving_starts_a_new_one():
    t0 = timezone.now()
    tracks = _step([], False, t0)
    tracks = _step(tracks, False, t0 + timedelta(seconds=120))
    assert tracks[0]["fires"]
    tracks = _step(tracks, None, t0 + timedelta(seconds=180))  # missed once
    assert tracks[0]["seen"] is False and tracks[0]["alerted"]
    tracks = _step(tracks, False, t0 + timedelta(seconds=240))
    assert len(tracks) == 1 and tracks[0]["alerted"] and not tracks[0]["fires"]
    tracks = _step(tracks, None, t0 + timedelta(seconds=300))
    tracks = _step(tracks, None, t0 + timedelta(seconds=400))  # last seen 160 s ago: it left
    assert tracks == []
    tracks = _step(tracks, False, t0 + timedelta(seconds=460))
    tracks = _step(tracks, False, t0 + timedelta(seconds=580))
    assert tracks[0]["fires"]


def test_objects_are_matched_by_label_and_overlap():
    t0 = timezone.now()
    tracks = _step([], False, t0)
    moved = _step(tracks, False, t0 + timedelta(seconds=120), box=[300.0, 300.0, 340.0, 340.0])
    assert [t["seen"] for t in moved] == [True, False] and moved[0]["unattended_s"] == 0
    other = _step(tracks, False, t0 + timedelta(seconds=120), label="backpack")
    assert other[0]["label"] == "backpack" and other[0]["unattended_s"] == 0


# --- through the real Triton ---------------------------------------------------------------------
# The example photos hold no bag the detector recognises, so the object left behind is a car
# (classes: [car]); the rule is the same for any COCO class.

STATES = ["attended", "attended", "alone", "alone", "alone", "gone", "alone", "attended",
          "gone", "gone", "gone", "alone", "alone", "alone"]
EXPECTED = [False, False, False, False, True, False, False, False,
            False, False, False, False, False, True]


@pytest.mark.triton
@pytest.mark.django_db
def test_abandoned_object_fires_once_and_again_only_after_it_left(run_scenario):
    sequence = left_object_frames(STATES)
    start = timezone.now() - timedelta(hours=1)
    params = {"zone": sequence.zone, "classes": ["car"], "min_unattended_s": 120, "max_gap_s": 150}
    rows = []
    for frame, at in zip(sequence.frames, sequence.times(start, 60), strict=True):
        row = run_scenario("abandoned-object", image=frame, params=params, source="cam-square-1", at=at)
        assert row.status == "succeeded", row.error_message
        rows.append(row)
    assert [r.alert for r in rows] == EXPECTED
    seen = [[t for t in r.result["tracks"] if t["seen"]] for r in rows]
    assert [bool(s) and s[0]["attended"] for s in seen[:3]] == [True, True, False]
    assert rows[4].result["firing"] == ["car"] and rows[4].result["longest_unattended_s"] == 120
    assert rows[0].result["people"] >= 2 and rows[10].result["tracks"] == []


@pytest.mark.triton
@pytest.mark.django_db
def test_an_attended_object_and_the_default_bag_classes_stay_quiet(run_scenario):
    sequence = left_object_frames(["attended"] * 4 + ["alone"] * 3)
    start = timezone.now() - timedelta(hours=1)
    watched = [run_scenario("abandoned-object", image=frame, source="cam-square-2", at=at,
                            params={"zone": sequence.zone, "classes": ["car"], "min_unattended_s": 300})
               for frame, at in zip(sequence.frames, sequence.times(start, 60), strict=True)]
    assert not any(r.alert for r in watched) and watched[-1].result["longest_unattended_s"] == 120
    bags = [run_scenario("abandoned-object", image=frame, source="cam-square-3", at=at,
                         params={"zone": sequence.zone, "min_unattended_s": 60})
            for frame, at in zip(sequence.frames, sequence.times(start, 60), strict=True)]
    assert not any(r.alert for r in bags) and all(r.result["in_zone"] == 0 for r in bags)
