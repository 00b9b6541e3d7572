"""The existing multi-frame scenarios over generated frame sequences of one camera (tests/frames.py),
through the real Triton: each fires exactly once while its subject lingers, and stays quiet when
nothing does."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.frames import lingering_people_frames, parked_car_frames, passers_by_frames, passing_traffic_frames

pytestmark = [pytest.mark.triton, pytest.mark.django_db]


def run_sequence(run_scenario, slug, sequence, *, source, step_s, params=None, start=None):
    """Every frame of ``sequence`` as one request of ``source``, ``step_s`` apart; the finished rows."""
    start = start or timezone.now() - timedelta(hours=2)
    rows = []
    for frame, at in zip(sequence.frames, sequence.times(start, step_s), strict=True):
        row = run_scenario(slug, image=frame, params={"zone": sequence.zone, **(params or {})}, source=source, at=at)
        assert row.status == "succeeded", row.error_message
        rows.append(row)
    return rows


def test_illegal_parking_fires_once_for_the_parked_car_and_again_when_it_comes_back(run_scenario):
    start = timezone.now() - timedelta(hours=2)
    # 2 min apart, 5 min allowed: the car is there at 0..10 min, gone at 12 and 14.
    first = run_sequence(run_scenario, "vehicle-illegal-parking", parked_car_frames(8, leaves_after=6),
                         source="cam-street-1", step_s=120, start=start)
    assert [r.alert for r in first] == [False, False, False, True, False, False, False, False]
    assert first[3].result["longest_dwell_s"] == 360 and first[6].result["in_zone"] == 0
    # Back 20 min later: a new stay, timed from zero and reported once more.
    again = run_sequence(run_scenario, "vehicle-illegal-parking", parked_car_frames(4, seed=900),
                         source="cam-street-1", step_s=120, start=start + timedelta(minutes=20))
    assert [r.alert for r in again] == [False, False, False, True]


def test_illegal_parking_stays_quiet_for_passing_traffic(run_scenario):
    rows = run_sequence(run_scenario, "vehicle-illegal-parking", passing_traffic_frames(8), source="cam-street-2",
                        step_s=120)
    assert not any(r.alert for r in rows)
    assert [r.result["in_zone"] for r in rows] == [1, 0, 1, 0, 1, 0, 1, 0]  # the cars were seen


def test_parking_by_plate_fires_once_for_the_plate(run_scenario):
    sequence = parked_car_frames(8, leaves_after=6)
    rows = run_sequence(run_scenario, "illegal-parking-by-plate", sequence, source="cam-street-3", step_s=120)
    assert [r.alert for r in rows] == [False, False, False, True, False, False, False, False]
    assert rows[3].result["firing"] == [sequence.plate]
    assert all(r.result["stays"][0]["normalized"] == sequence.plate for r in rows[:6])


def test_parking_by_plate_stays_quiet_when_each_plate_is_seen_once(run_scenario):
    rows = run_sequence(run_scenario, "illegal-parking-by-plate", passing_traffic_frames(8), source="cam-street-4",
                        step_s=120)
    assert not any(r.alert for r in rows)
    seen = [s["normalized"] for r in rows for s in r.result["stays"]]
    assert len(seen) == 4 and len(set(seen)) == 4


def test_loitering_fires_once_while_people_stay_on_the_lawn(run_scenario):
    # 4 min apart, 10 min allowed: occupied at 0..16 min, empty at 20.
    rows = run_sequence(run_scenario, "loitering", lingering_people_frames(6, leaves_after=5), source="cam-lawn-1",
                        step_s=240)
    assert [r.alert for r in rows] == [False, False, False, True, False, False]
    assert all(r.result["in_zone"] >= 3 for r in rows[:5]) and rows[5].result["in_zone"] == 0


def test_loitering_stays_quiet_for_passers_by(run_scenario):
    rows = run_sequence(run_scenario, "loitering", passers_by_frames(6), source="cam-lawn-2", step_s=240)
    assert not any(r.alert for r in rows)
    assert [r.result["in_zone"] for r in rows] == [1, 0, 1, 0, 1, 0]
