"""Scenarios of the plate (watchlist, dwell), privacy-masking and fall-from-pose families, through the
real Triton (plate_reader, face_detector, pose_estimator), plus unit tests of their rules."""

import importlib.util
import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings
from django.utils import timezone

from services.core.errors import ApplicationError
from services.inference.pipelines.fall_from_pose import assess
from services.inference.pipelines.plate_dwell import continue_stays
from services.inference.pipelines.primitives import Pose, normalize_plate, pose_input_size
from services.inference.pipelines.privacy_mask import obscure
from tests.images import DATA, car_with_plate, example, jpeg, person_lying_in_square, standing_man

triton = pytest.mark.triton
db = pytest.mark.django_db
FALL_PARAMS = {"min_person_score": 0.2, "min_keypoint_score": 0.2, "torso_angle_deg": 60, "box_aspect": 1.6}


def _decode(content: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)


def _annotated(row) -> np.ndarray:
    with row.annotated_image.open("rb") as fh:
        return _decode(fh.read())


def _model_module(name: str):
    """A model's 1/model.py, imported without Triton (its pure functions do not need it)."""
    path = Path(settings.TRITON_MODEL_REPOSITORY) / name / "1" / "model.py"
    spec = importlib.util.spec_from_file_location(f"{name}_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- rules and pure functions ---------------------------------------------------------------------

def test_plates_compare_without_separators_spaces_width_or_case():
    for written in ("粤B·12345", "粤b 12345", "粤Ｂ１２３４５"):
        assert normalize_plate(written) == "粤B12345"


def test_a_stay_fires_once_when_it_first_reaches_the_limit():
    start = timezone.now()
    first = continue_stays({}, ["粤B12345"], now=start, min_dwell_s=300)
    assert first[0]["dwell_s"] == 0 and not first[0]["fires"]
    previous = {s["normalized"]: s for s in first}
    later = continue_stays(previous, ["粤B12345", "粤B54321"], now=start + timedelta(minutes=6), min_dwell_s=300)
    assert [(s["normalized"], s["dwell_s"], s["fires"]) for s in later] == [("粤B12345", 360.0, True),
                                                                            ("粤B54321", 0.0, False)]
    again = continue_stays({s["normalized"]: s for s in later}, ["粤B12345"], now=start + timedelta(minutes=8),
                           min_dwell_s=300)
    assert again[0]["alerted"] and not again[0]["fires"] and again[0]["dwell_s"] == 480.0


def _pose(points: dict[str, tuple[float, float]]) -> Pose:
    from services.inference.pipelines.primitives import KEYPOINT_NAMES

    keypoints = tuple((*points[name], 0.9) if name in points else (0.0, 0.0, 0.0) for name in KEYPOINT_NAMES)
    return Pose(0.8, (0, 0, 1, 1), keypoints)


def test_lying_torso_is_fallen_and_upright_or_bending_is_not():
    upright = _pose({"left_shoulder": (100, 100), "right_shoulder": (130, 100), "left_hip": (102, 200),
                     "right_hip": (128, 200), "left_ankle": (100, 380), "right_ankle": (130, 380)})
    lying = _pose({"left_shoulder": (100, 300), "right_shoulder": (100, 330), "left_hip": (200, 302),
                   "right_hip": (200, 328), "left_ankle": (380, 300), "right_ankle": (380, 330)})
    # Bending over to pick something up: torso horizontal, but legs keep the figure tall.
    bending = _pose({"left_shoulder": (100, 200), "right_shoulder": (100, 215), "left_hip": (200, 200),
                     "right_hip": (200, 215), "left_ankle": (200, 400), "right_ankle": (210, 400)})
    assert assess(upright, FALL_PARAMS)["torso_angle_deg"] == 0.0
    assert not assess(upright, FALL_PARAMS)["fallen"]
    assert assess(lying, FALL_PARAMS)["fallen"] and assess(lying, FALL_PARAMS)["torso_angle_deg"] == 90.0
    assert not assess(bending, FALL_PARAMS)["fallen"]
    # Torso unseen: the keypoint box decides.
    legs_flat = _pose({name: (100 + 40 * i, 300 + (i % 2) * 20) for i, name in enumerate(
        ["left_knee", "right_knee", "left_ankle", "right_ankle", "left_elbow", "right_elbow"])})
    assert assess(legs_flat, FALL_PARAMS)["fallen"] and assess(legs_flat, FALL_PARAMS)["torso_angle_deg"] is None


def test_obscuring_removes_the_detail_of_a_region():
    image = _decode((DATA / "astronaut.jpg").read_bytes())
    before = image[60:170, 170:280].astype(np.float32).std()
    obscure(image, (170, 60, 280, 170))
    after = cv2.Laplacian(image[60:170, 170:280], cv2.CV_32F).var()
    assert image[60:170, 170:280].astype(np.float32).std() < before
    assert after < 5.0  # no edges left to recognise


def test_pose_input_follows_the_image_aspect():
    assert pose_input_size(480, 640, 640) == (480, 640)
    assert pose_input_size(420, 230, 256) == (256, 160)
    model = _model_module("pose_estimator")
    assert model.default_input_size(576, 768) == (480, 640)
    assert model.check_input_size(np.array([[192, 256]])) == (192, 256)
    with pytest.raises(ValueError):
        model.check_input_size(np.array([200, 256]))


def test_plate_reader_orders_corners_and_decodes_ctc():
    model = _model_module("plate_reader")
    corners = model.order_corners(np.array([[355, 290], [235, 287], [236, 233], [356, 236]]))
    assert corners.tolist() == [[236, 233], [356, 236], [355, 290], [235, 287]]
    charset = ["A", "B", "粤"]
    probs = np.eye(4)[[3, 3, 0, 2, 0, 2, 1]] * 0.9  # 粤 粤 - B - B A  (index 0 = blank)
    assert model.ctc_decode(probs, charset) == ("粤BBA", pytest.approx(0.9))
    assert model.pick_read([("B12345", 0.99), ("粤B12345", 0.95)]) == ("粤B12345", 0.95)


# --- plate watchlist ------------------------------------------------------------------------------

@triton
@db
def test_wanted_vehicle_on_the_watchlist_is_reported(run_scenario):
    row = run_scenario("wanted-vehicle-watchlist", image=car_with_plate("粤B·12345"),
                       params={"plates": ["京A·F0236", "粤b 12345"]})
    assert row.status == "succeeded", row.error_message
    assert row.alert and row.result["hits"] == ["粤B12345"]
    assert row.result["plates"][0]["plate"] == "粤B12345" and row.result["plates"][0]["colour"] == "blue"


@triton
@db
def test_a_plate_not_on_the_watchlist_stays_quiet(run_scenario):
    row = run_scenario("wanted-vehicle-watchlist", image=car_with_plate("浙A·D8K26"),
                       params={"plates": ["浙A·D8K28", "粤B·12345"]})
    assert row.status == "succeeded", row.error_message
    assert not row.alert and row.result["read"] == ["浙AD8K26"]


@triton
@db
def test_unregistered_yellow_plated_truck_at_the_site_gate_alerts(run_scenario):
    row = run_scenario("muck-truck-unregistered", image=car_with_plate("豫A·7K3M9", "yellow"),
                       params={"plates": ["豫A·5F2L8", "豫A·9Q1H6"]})
    assert row.status == "succeeded", row.error_message
    assert row.alert and row.result["hits"] == ["豫A7K3M9"]
    assert row.result["plates"][0]["colour"] == "yellow"


@triton
@db
def test_registered_muck_truck_and_cars_pass_the_site_gate(run_scenario):
    registered = run_scenario("muck-truck-unregistered", image=car_with_plate("豫A·7K3M9", "yellow"),
                              params={"plates": ["豫A·5F2L8", "豫A 7K3M9"]})
    assert registered.status == "succeeded", registered.error_message
    assert not registered.alert and registered.result["read"] == ["豫A7K3M9"]
    # A blue-plated car is not a heavy vehicle: not checked against the muck-truck list.
    car = run_scenario("muck-truck-unregistered", image=car_with_plate("豫A·2B6C8", "blue"),
                       params={"plates": ["豫A·5F2L8"]})
    assert not car.alert and car.result["read"] == ["豫A2B6C8"] and not car.result["plates"][0]["considered"]


@triton
@db
def test_site_entry_log_records_every_plate_and_alerts_only_off_the_list(run_scenario):
    registered = run_scenario("site-vehicle-entry-log", image=car_with_plate("苏E·2J7M9"),
                              params={"plates": ["苏E·2J7M9"]})
    assert registered.status == "succeeded", registered.error_message
    assert not registered.alert and registered.result["read"] == ["苏E2J7M9"]
    stranger = run_scenario("site-vehicle-entry-log", image=car_with_plate("苏E·6H1K4"),
                            params={"plates": ["苏E·2J7M9"]})
    assert stranger.alert and stranger.result["hits"] == ["苏E6H1K4"]


@triton
@db
def test_a_malformed_list_entry_is_refused_at_submit(run_scenario):
    with pytest.raises(ApplicationError, match="not plate numbers"):
        run_scenario("wanted-vehicle-watchlist", image=car_with_plate("粤B·12345"), params={"plates": ["粤B"]})


# --- plate dwell ----------------------------------------------------------------------------------

@triton
@db
def test_illegal_parking_by_plate_fires_once_per_stay_and_per_camera(run_scenario):
    start = timezone.now() - timedelta(minutes=30)
    parked = car_with_plate("粤B·12345")
    alerts, dwell = [], []
    for minute in (0, 2, 4, 6, 8):
        row = run_scenario("illegal-parking-by-plate", image=parked, params={"min_dwell_s": 300},
                           source="cam-futian-031", at=start + timedelta(minutes=minute))
        assert row.status == "succeeded", row.error_message
        alerts.append(row.alert)
        dwell.append(row.result["longest_dwell_s"])
    assert alerts == [False, False, False, True, False]
    assert dwell == [0.0, 120.0, 240.0, 360.0, 480.0]
    # Another camera has its own clock; another car in the spot starts its own stay.
    other_camera = run_scenario("illegal-parking-by-plate", image=parked, params={"min_dwell_s": 300},
                                source="cam-futian-032", at=start + timedelta(minutes=8))
    other_car = run_scenario("illegal-parking-by-plate", image=car_with_plate("粤B·67890"),
                             params={"min_dwell_s": 300}, source="cam-futian-031",
                             at=start + timedelta(minutes=9))
    assert not other_camera.alert and other_camera.result["longest_dwell_s"] == 0.0
    assert not other_car.alert and other_car.result["stays"][0]["normalized"] == "粤B67890"


@triton
@db
def test_plate_dwell_needs_a_source(run_scenario):
    with pytest.raises(ApplicationError, match="send a 'source'") as refused:
        run_scenario("illegal-parking-by-plate", image=car_with_plate("粤B·12345"))
    assert refused.value.code == "source_required" and refused.value.status == 400  # refused before queueing


# --- privacy masking ------------------------------------------------------------------------------

def _detail(image: np.ndarray, box) -> float:
    x1, y1, x2, y2 = (int(v) for v in box)
    return float(cv2.Laplacian(cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), cv2.CV_32F).var())


@triton
@db
def test_faces_are_masked_before_sharing(run_scenario):
    original = (DATA / "astronaut.jpg").read_bytes()
    row = run_scenario("privacy-masking", image=original)
    assert row.status == "succeeded", row.error_message
    assert not row.alert and row.result["faces"] == 1 and row.result["plates"] == 0
    box = row.result["regions"][0]["box"]
    # The astronaut's face (about x 175-275, y 65-160) is inside the masked region.
    assert box[0] <= 180 and box[1] <= 70 and box[2] >= 265 and box[3] >= 155
    masked, before = _annotated(row), _decode(original)
    assert _detail(masked, box) < 0.05 * _detail(before, box)
    assert np.abs(masked[300:, :].astype(int) - before[300:, :].astype(int)).mean() < 4  # the rest is kept


@triton
@db
def test_plates_are_masked_and_their_text_is_not_in_the_result(run_scenario):
    original = car_with_plate("粤B·12345")
    row = run_scenario("privacy-masking", image=original)
    assert row.status == "succeeded", row.error_message
    assert row.result["plates"] == 1 and row.result["faces"] == 0
    box = row.result["regions"][0]["box"]
    masked, before = _annotated(row), _decode(original)
    assert _detail(masked, box) < 0.05 * _detail(before, box)
    assert "12345" not in json.dumps(row.result, ensure_ascii=False)


@triton
@db
def test_an_image_without_faces_or_plates_comes_back_unmasked(run_scenario):
    original = (DATA / "car_rear.jpg").read_bytes()  # its real plate is too blurred to find
    row = run_scenario("privacy-masking", image=original)
    assert row.status == "succeeded", row.error_message
    assert row.result["faces"] == 0 and row.result["plates"] == 0 and not row.alert
    assert np.abs(_annotated(row).astype(int) - _decode(original).astype(int)).mean() < 2


# --- fall from pose -------------------------------------------------------------------------------

@triton
@db
def test_person_lying_in_a_public_square_is_reported(run_scenario):
    row = run_scenario("elderly-fall-public-places", image=person_lying_in_square())
    assert row.status == "succeeded", row.error_message
    assert row.alert and row.result["fallen"] == 1
    lying = next(p for p in row.result["people"] if p["fallen"])
    x1, y1, x2, y2 = lying["box"]
    assert 80 <= x1 and x2 <= 360 and 380 <= y1 and y2 <= 540  # the person pasted on the lawn
    assert lying["torso_angle_deg"] > 60
    standing = [p for p in row.result["people"] if not p["fallen"]]
    assert len(standing) >= 3 and all(p["torso_angle_deg"] is None or p["torso_angle_deg"] < 30 for p in standing)


@triton
@db
def test_people_walking_in_the_square_are_not_fallen(run_scenario):
    row = run_scenario("elderly-fall-public-places", image=example("crowd.jpg"))
    assert row.status == "succeeded", row.error_message
    assert not row.alert and row.result["fallen"] == 0 and len(row.result["people"]) >= 3


@triton
@db
def test_worker_lying_close_to_the_camera_is_reported_and_standing_one_is_not(run_scenario):
    close_up = {"input_long_side": 256}
    lying = run_scenario("worker-fallen-on-site", image=jpeg(cv2.rotate(standing_man(), cv2.ROTATE_90_CLOCKWISE)),
                         params=close_up)
    assert lying.status == "succeeded", lying.error_message
    assert lying.alert and lying.result["fallen"] == 1 and lying.result["input_size"] == [160, 256]
    standing = run_scenario("worker-fallen-on-site", image=jpeg(standing_man()), params=close_up)
    assert standing.status == "succeeded", standing.error_message
    assert not standing.alert and len(standing.result["people"]) == 1
    assert standing.result["people"][0]["torso_angle_deg"] < 20


@triton
@db
def test_a_plate_cut_by_the_image_edge_is_read_without_failing_the_request(run_scenario):
    # The plate starts 30 px left of the image: its box starts outside it (agentclpr's own crop fails).
    cut = car_with_plate("京A·F0236", quad=((-30, 228), (94, 232), (92, 294), (-32, 290)))
    row = run_scenario("site-vehicle-entry-log", image=cut, params={"plates": ["京A·F0236"], "min_score": 0.3})
    assert row.status == "succeeded", row.error_message
    assert len(row.result["plates"]) == 1 and row.result["plates"][0]["corners"][0] < 0
    assert row.result["plates"][0]["plate"].endswith("F0236")


@triton
@db
@pytest.mark.parametrize(("slug", "alert"), [
    ("wanted-vehicle-watchlist", True), ("muck-truck-unregistered", True), ("site-vehicle-entry-log", False),
    ("privacy-masking", False), ("elderly-fall-public-places", True), ("worker-fallen-on-site", True),
])
def test_each_scenario_runs_on_its_catalog_example(run_scenario, slug, alert):
    from services.catalog.models import Scenario

    scenario = Scenario.objects.get(slug=slug)
    row = run_scenario(slug, image=example(scenario.example_input), params=scenario.example_params)
    assert row.status == "succeeded", row.error_message
    assert row.alert is alert, row.result["summary"]
