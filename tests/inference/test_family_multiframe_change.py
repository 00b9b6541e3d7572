"""Change over time (rule family change_over_time): a source's frame against its own frame of at
least N minutes earlier, through the real Triton over generated frames of a dumping site
(tests/frames.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from services.core.errors import ApplicationError
from services.inference.pipelines import PastRequest
from services.inference.pipelines.change_over_time import is_new_change
from tests.frames import growing_dump_frames, quiet_site_frames

PARAMS = {"compare_after_s": 1200, "baseline_window_s": 600, "min_changed_fraction": 0.02}
STEP_S = 600  # a snapshot every 10 minutes: each frame is compared with the one two steps back


def _past(changed: bool | None) -> PastRequest:
    result = {} if changed is None else {"changed": changed}
    return PastRequest("r1", datetime.now(UTC), "cam", None, {}, result)


def test_only_the_first_changed_frame_of_a_run_alerts():
    assert is_new_change(True, None) and is_new_change(True, _past(False)) and is_new_change(True, _past(None))
    assert not is_new_change(True, _past(True))
    assert not is_new_change(False, None) and not is_new_change(False, _past(True))


def test_history_input_is_read_lazily_and_absent_input_is_none():
    calls = []
    past = PastRequest("r2", datetime.now(UTC), "cam", None, {}, {}, load_input=lambda: calls.append(1) or b"jpeg")
    assert calls == [] and past.input_content() == b"jpeg" and calls == [1]
    assert _past(None).input_content() is None


def _run(run_scenario, frames, *, zone, source, start, step_s=STEP_S, params=PARAMS):
    rows = []
    for i, frame in enumerate(frames):
        row = run_scenario("dumping-site-growth", image=frame, params={"zone": zone, **params}, source=source,
                           at=start + timedelta(seconds=step_s * i))
        assert row.status == "succeeded", row.error_message
        rows.append(row)
    return rows


@pytest.mark.triton
@pytest.mark.django_db
def test_a_growing_dump_alerts_once_and_its_clearance_once_more(run_scenario):
    # Field untouched (0, 1), a heap grows (2..5), keeps its size (6..8), is cleared away (9..11).
    growing = growing_dump_frames(9, start=2, stop_after=5)
    frames = growing.frames + quiet_site_frames(3).frames
    start = timezone.now() - timedelta(hours=3)
    rows = _run(run_scenario, frames, zone=growing.zone, source="cam-riverbank-1", start=start)
    assert [r.alert for r in rows] == [False, False, True, False, False, False, False, False, False, True, False, False]
    assert [r.result["changed"] for r in rows] == [False, False, True, True, True, True, True, False, False, True,
                                                   True, False]
    assert rows[0].result["baseline"] is None and rows[1].result["baseline"] is None
    # Each frame is compared with the frame captured 20 minutes before it, found by capture time.
    for i in range(2, len(rows)):
        assert rows[i].result["baseline"]["request_id"] == str(rows[i - 2].pk)
        assert rows[i].result["baseline"]["age_s"] == 1200
    assert rows[2].result["regions"] and rows[7].result["change_fraction"] < 0.005
    # After a pause longer than 20 + 10 minutes there is no baseline: nothing is compared or reported.
    later = _run(run_scenario, [frames[-1]], zone=growing.zone, source="cam-riverbank-1",
                 start=start + timedelta(hours=2, minutes=50))
    assert later[0].alert is False and later[0].result["baseline"] is None


@pytest.mark.triton
@pytest.mark.django_db
def test_a_quiet_site_and_another_camera_stay_quiet(run_scenario):
    quiet = quiet_site_frames(5)
    start = timezone.now() - timedelta(hours=3)
    rows = _run(run_scenario, quiet.frames, zone=quiet.zone, source="cam-riverbank-2", start=start)
    assert not any(r.alert for r in rows) and all(r.result["change_fraction"] == 0 for r in rows[2:])
    # A heap seen by one camera is never compared with another camera's frames.
    growing = growing_dump_frames(3, start=2)
    other = _run(run_scenario, growing.frames, zone=growing.zone, source="cam-riverbank-3",
                 start=start + timedelta(seconds=STEP_S * 5))
    assert [r.alert for r in other] == [False, False, True] and other[0].result["baseline"] is None
    assert other[2].result["baseline"]["request_id"] == str(other[0].pk)


@pytest.mark.triton
@pytest.mark.django_db
def test_change_over_time_needs_a_source(run_scenario):
    with pytest.raises(ApplicationError, match="send a 'source'") as refused:
        run_scenario("dumping-site-growth", image=quiet_site_frames(1).frames[0])
    assert refused.value.code == "source_required" and refused.value.status == 400  # refused before queueing
