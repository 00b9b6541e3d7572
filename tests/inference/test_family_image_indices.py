"""Image indices: unit tests of the classical methods in model_repository/image_analytics/1/indices.py
(the code the Triton model runs) and of the rule helpers, then every scenario of the image_index,
image_change and fire_colour families through the real Triton on composites of real photos
(the examples in services/catalog/data/examples, edited by tools/make_image_index_examples.py)."""

import base64
import importlib.util
import math
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings

from services.core.errors import ApplicationError
from services.inference.pipelines import PastRequest
from services.inference.pipelines.image_indices import check_range, find_reference, fire_verdict, flicker
from tests.images import EXAMPLES, example

triton = pytest.mark.triton
db = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ix = _load("image_analytics_indices", Path(settings.TRITON_MODEL_REPOSITORY) / "image_analytics" / "1" / "indices.py")
scenes = _load("make_image_index_examples", ROOT / "tools" / "make_image_index_examples.py")

# ROIs of the example params (normalised), kept equal to the catalog's example_params.
SKY = [[0.40, 0.0], [0.99, 0.0], [0.99, 0.08], [0.68, 0.08], [0.64, 0.27], [0.40, 0.27]]
STACK = [0.53, 0.31]  # the chimney's outlet in chimney-black-smoke.jpg
SITE = [[0.62, 0.72], [1, 0.72], [1, 1], [0.62, 1]]
POND = [[0.27, 0.9], [0.44, 0.9], [0.46, 0.98], [0.28, 0.98]]
LAMP = [[0.1, 0.35], [0.35, 0.35], [0.35, 0.75], [0.1, 0.75]]
ROAD = [[0.0, 0.72], [1, 0.72], [1, 1], [0, 1]]
CORRIDOR = [[0, 0.0625], [0.25, 0.143], [0.5, 0.167], [0.75, 0.143], [1, 0.0625], [1, 0.266], [0.75, 0.362],
            [0.5, 0.391], [0.25, 0.362], [0, 0.266]]


def photo(name: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(example(name), np.uint8), cv2.IMREAD_COLOR)


def whole(image: np.ndarray) -> np.ndarray:
    return np.ones(image.shape[:2], dtype=bool)


def box_overlaps(box, x1, y1, x2, y2) -> bool:
    return box[0] < x2 and box[2] > x1 and box[1] < y2 and box[3] > y1


# --- Ringelmann ----------------------------------------------------------------------------------


def sky_with_patch(grey: int, sky: int = 200) -> tuple[np.ndarray, np.ndarray]:
    image = np.full((480, 640, 3), sky, dtype=np.uint8)
    image[100:300, 200:400] = grey
    roi = np.array([[150, 50], [450, 50], [450, 350], [150, 350]], dtype=float) / [640, 480]
    return image, ix.roi_mask(image.shape, roi)


def test_a_black_region_against_the_sky_is_ringelmann_5():
    image, mask = sky_with_patch(0)
    values, plume = ix.ringelmann(image, mask)
    assert values["ringelmann_grade"] == 5.0
    assert values["smoke_blackness"] == pytest.approx(1.0)
    assert plume[150:250, 250:350].all()


@pytest.mark.parametrize("grey", [200, 185, 170, 150, 130, 110, 90, 60])
def test_ringelmann_grade_is_the_nearest_chart_card_in_linear_light(grey):
    image, mask = sky_with_patch(grey)
    values, _ = ix.ringelmann(image, mask)
    blackness = 1 - ix.SRGB_TO_LINEAR[grey] / ix.SRGB_TO_LINEAR[200]
    expected = 0 if blackness < ix.PLUME_MIN_BLACKNESS else min(5, math.floor(blackness * 5 + 0.5))
    assert values["ringelmann_grade"] == expected


def test_coloured_dark_surfaces_are_not_smoke():
    image, mask = sky_with_patch(0)
    image[100:300, 200:400] = (40, 50, 120)  # brick red (BGR): dark but not neutral
    assert ix.ringelmann(image, mask)[0]["ringelmann_grade"] == 0.0


def test_chimney_plume_grades_dark_but_not_steam_or_an_overcast_sky():
    street = photo("leuven-street.jpg")
    mask = ix.roi_mask(street.shape, np.array(SKY))
    assert ix.ringelmann(photo("chimney-black-smoke.jpg"), mask)[0]["ringelmann_grade"] >= 4
    assert ix.ringelmann(street, mask)[0]["ringelmann_grade"] == 0
    steam = scenes.add_plume(street, scenes.LEUVEN_CHIMNEY, colour=(238, 238, 236), opacity=0.8)
    assert ix.ringelmann(steam, mask)[0]["ringelmann_grade"] <= 1


# --- dark channel haze ---------------------------------------------------------------------------


def test_a_clear_photo_has_low_haze():
    image = photo("workplace.jpg")
    assert ix.haze(image, whole(image))[0]["haze_density"] < 0.3


def test_haze_rises_monotonically_with_scattering():
    clear = photo("leuven-street.jpg")
    densities = [ix.haze(scenes.add_haze(clear, t), whole(clear))[0]["haze_density"] for t in (1.0, 0.8, 0.6, 0.4, 0.2)]
    assert densities == sorted(densities) and len(set(densities)) == 5
    assert densities[-1] > 0.75 and densities[0] < 0.3


# --- flame colour --------------------------------------------------------------------------------


def test_flame_colour_rules():
    image = np.full((100, 300, 3), 120, dtype=np.uint8)
    image[:, 0:100] = (30, 160, 250)  # orange-yellow flame (BGR)
    image[:, 100:200] = (111, 148, 225)  # cardboard: orange but dull (HSI saturation < 0.4)
    image[:, 200:300] = (69, 80, 200)  # red paint: saturated but dark (HSI intensity < 127)
    flame = ix.fire_pixels(image)
    assert flame[:, 0:100].all()
    assert not flame[:, 100:300].any()


def test_fire_fraction_and_boxes_on_a_composite():
    building = photo("workplace.jpg")
    burning = photo("workplace-fire.jpg")
    assert ix.fire(building, whole(building))[0]["fire_fraction"] == 0.0
    values, flame = ix.fire(burning, whole(burning))
    assert values["fire_fraction"] > 0.01
    (box,) = ix.region_boxes(flame, 1)
    x, y = scenes.WORKPLACE_FIRE
    assert box[0] < x < box[2] and box[1] < y <= box[3] + 5


# --- water colour --------------------------------------------------------------------------------


@pytest.mark.parametrize(("angle", "fu"), [(240, 1), (227.168, 1), (227.1, 2), (100, 8), (50, 15), (19.0, 21), (5, 21)])
def test_forel_ule_classes_from_hue_angle(angle, fu):
    assert ix.forel_ule(angle) == fu


def test_lab_of_srgb_primaries():
    def lab(bgr):
        image = np.zeros((4, 4, 3), dtype=np.uint8) + np.array(bgr, dtype=np.uint8)
        values = ix.colour(image, whole(image))
        return values["lab_l"], values["lab_a"], values["lab_b"]

    assert lab((0, 0, 255)) == pytest.approx((53.24, 80.09, 67.20), abs=0.05)  # sRGB red
    assert lab((200, 200, 200)) == pytest.approx((80.6, 0.0, 0.0), abs=0.1)


def test_a_dye_plume_moves_the_pond_out_of_the_natural_water_colours():
    clean, dyed = photo("aerial-town.jpg"), photo("pond-discharge.jpg")
    mask = ix.roi_mask(clean.shape, np.array(POND))
    before, after = ix.colour(clean, mask), ix.colour(dyed, mask)
    assert before["water_fu"] <= 6 and 190 < before["water_hue_angle"] < 232
    assert after["water_fu"] == 21 and after["water_hue_angle"] < 19
    assert after["lab_a"] > before["lab_a"] + 10


# --- change --------------------------------------------------------------------------------------


def test_relit_and_jittered_views_are_unchanged_and_the_shift_is_measured():
    reference = photo("aerial-town.jpg")
    again = scenes.recapture(reference, gain=0.88, cast=(1.05, 1.0, 0.95), shift=(3, -2), seed=2)
    values, changed, _ = ix.change(again, reference, whole(reference))
    assert values["change_fraction"] == 0.0 and not changed.any()
    assert values["shift_px"] == pytest.approx(math.hypot(3, 2), abs=0.6)
    identical, _, _ = ix.change(reference, reference, whole(reference))
    assert identical == {"change_fraction": 0.0, "ssim_mean": pytest.approx(1.0), "shift_px": pytest.approx(0.0)}


def test_a_new_shed_is_the_changed_region():
    reference, current = photo("aerial-town.jpg"), photo("illegal-structure.jpg")
    values, changed, diff = ix.change(current, reference, whole(reference))
    assert 0.004 < values["change_fraction"] < 0.02
    boxes = ix.region_boxes(changed, 1, strength=diff)
    x, y = scenes.AERIAL_SHED
    assert len(boxes) == 1 and box_overlaps(boxes[0], x, y, x + 60, y + 36)


# --- the whole analysis --------------------------------------------------------------------------


def test_analyse_orders_indices_and_scales_boxes_to_the_original_size():
    burning = photo("workplace-fire.jpg")
    large = cv2.resize(burning, (2048, 1536), interpolation=cv2.INTER_CUBIC)
    analysis = ix.analyse(large)
    vector = analysis.vector()
    assert vector.shape == (len(ix.INDEX_NAMES),)
    names = (Path(settings.TRITON_MODEL_REPOSITORY) / "image_analytics" / "labels.txt").read_text().split()
    assert tuple(names) == ix.INDEX_NAMES
    assert math.isnan(vector[ix.INDEX["change_fraction"]]) and math.isnan(vector[ix.INDEX["ssim_mean"]])
    assert vector[ix.INDEX["mean_brightness"]] == pytest.approx(ix.analyse(burning).values["mean_brightness"], abs=1)
    flames = [row for row in analysis.boxes() if int(row[4]) == ix.INDEX["fire_fraction"]]
    x = scenes.WORKPLACE_FIRE[0] * 3.2
    assert len(flames) == 1 and flames[0][0] < x < flames[0][2]


def test_only_the_wanted_methods_run():
    burning = photo("workplace-fire.jpg")
    analysis = ix.analyse(burning, wanted=["fire_fraction"])
    computed = {name for name, value in analysis.values.items() if not math.isnan(value)}
    assert computed == {"fire_fraction"} and analysis.values["fire_fraction"] > 0.01
    assert {int(row[4]) for row in analysis.boxes()} == {ix.INDEX["fire_fraction"]}
    with pytest.raises(ValueError, match="unknown indices"):
        ix.analyse(burning, wanted=["flames"])


def test_roi_must_be_a_polygon():
    with pytest.raises(ValueError, match="at least 3"):
        ix.roi_mask((10, 10), np.array([[0, 0], [1, 1]]))


# --- rule helpers --------------------------------------------------------------------------------


def test_check_range():
    assert check_range("mean_brightness", 20.0, 35, None)["ok"] is False
    assert check_range("ringelmann_grade", 1.0, None, 1)["ok"] is True
    assert check_range("change_fraction", None, None, 0.1) == {
        "index": "change_fraction", "value": None, "min": None, "max": 0.1, "ok": True, "note": "not applicable"}


def test_flicker_uses_the_current_run_of_flame_coloured_frames():
    assert flicker(0.02, [0.03], 0.005) == (None, 2)
    variation, frames = flicker(0.02, [0.03, 0.012, 0.0, 0.5], 0.005)
    assert frames == 3 and variation == pytest.approx(np.std([0.02, 0.03, 0.012]) / np.mean([0.02, 0.03, 0.012]))
    assert flicker(0.02, [0.0201, 0.0199, 0.02], 0.005)[0] < 0.01


def test_fire_verdicts():
    params = {"min_flicker": 0.1, "require_flicker": False, "suppress_steady": True}
    assert fire_verdict(False, None, params) == (False, "none")
    assert fire_verdict(True, None, params)[0] is True
    assert fire_verdict(True, 0.3, params) == (True, "colour and flicker")
    assert fire_verdict(True, 0.01, params)[0] is False
    assert fire_verdict(True, None, {**params, "require_flicker": True})[0] is False


def test_calibrated_checks_fire_only_on_a_departure_that_is_also_out_of_range():
    assert check_range("ringelmann_grade", 4, None, 1, baseline=0, max_rise=1)["ok"] is False
    assert check_range("ringelmann_grade", 4, None, 1, baseline=4, max_rise=1)["ok"] is True  # always dark there
    assert check_range("ringelmann_grade", 1, None, 1, baseline=0, max_rise=0.5)["ok"] is True  # within the limit
    assert check_range("haze_density", 0.6, None, None, baseline=0.3, max_rise=0.12)["ok"] is False
    assert check_range("haze_density", 0.35, None, None, baseline=0.3, max_rise=0.12)["ok"] is True
    assert check_range("water_hue_angle", 10, 19, 232, baseline=80, max_fall=60)["ok"] is False


def test_find_reference_follows_the_chain():
    def past(id_, reference):
        return PastRequest(id_, datetime.now(UTC), "cam", None, {}, {"reference": reference} if reference else {})

    assert find_reference([]) is None
    assert find_reference([past("b", None), past("a", {"source": "this_frame"})]) == "a"
    chained = {"source": "history", "request_id": "a"}
    assert find_reference([past("c", chained), past("a", {"source": "this_frame"})]) == "a"
    assert find_reference([past("d", {"source": "params"}), past("c", chained)]) == "a"


# --- scenarios through the real Triton -----------------------------------------------------------


def jpeg(image: np.ndarray) -> bytes:
    return scenes.jpeg(image, 90)


@triton
@db
def test_chimney_black_smoke(run_scenario):
    params = {"roi": SKY, "stack": STACK, "baseline": {"ringelmann_grade": 0}}
    smoky = run_scenario("chimney-black-smoke", image=example("chimney-black-smoke.jpg"), params=params)
    assert smoky.status == "succeeded", smoky.error_message
    assert smoky.alert and smoky.result["checks"][0]["index"] == "ringelmann_grade"
    assert smoky.result["indices"]["ringelmann_grade"] >= 4
    assert smoky.result["evidence"] and smoky.result["evidence"][0]["kind"] == "ringelmann_grade"
    assert smoky.annotated_image
    clean = run_scenario("chimney-black-smoke", image=example("leuven-street.jpg"), params=params)
    assert not clean.alert and clean.result["indices"]["ringelmann_grade"] == 0
    steam = scenes.add_plume(photo("leuven-street.jpg"), scenes.LEUVEN_CHIMNEY, colour=(238, 238, 236), opacity=0.8)
    assert not run_scenario("chimney-black-smoke", image=jpeg(steam), params=params).alert


@triton
@db
def test_chimney_refuses_to_run_uncalibrated_and_ignores_what_was_dark_on_the_clear_day(run_scenario):
    for missing in ({"roi": SKY, "baseline": {"ringelmann_grade": 0}}, {"roi": SKY, "stack": STACK}):
        with pytest.raises(ApplicationError, match="per-camera calibration"):
            run_scenario("chimney-black-smoke", image=example("chimney-black-smoke.jpg"), params=missing)
    # A camera whose clear day already read grade 4 there (a dark roof, a grille) sees no new smoke.
    steady = run_scenario("chimney-black-smoke", image=example("chimney-black-smoke.jpg"),
                          params={"roi": SKY, "stack": STACK, "baseline": {"ringelmann_grade": 4}})
    assert steady.status == "succeeded" and not steady.alert
    # A stack marked far from the plume: the plume does not rise from it, so it is not graded.
    elsewhere = run_scenario("chimney-black-smoke", image=example("chimney-black-smoke.jpg"),
                             params={"roi": SKY, "stack": [0.95, 0.9], "baseline": {"ringelmann_grade": 0}})
    assert not elsewhere.alert and "stack" in elsewhere.result["checks"][0]["note"]


@triton
@db
def test_construction_site_dust(run_scenario):
    with pytest.raises(ApplicationError, match="per-camera calibration"):
        run_scenario("construction-site-dust", image=example("construction-dust.jpg"), params={"roi": SITE})
    params = {"roi": SITE, "baseline": {"haze_density": 0.3}}
    dusty = run_scenario("construction-site-dust", image=example("construction-dust.jpg"), params=params)
    assert dusty.status == "succeeded", dusty.error_message
    assert dusty.alert and dusty.result["indices"]["haze_density"] > 0.5
    clear = run_scenario("construction-site-dust", image=example("aerial-town.jpg"), params=params)
    assert not clear.alert and clear.result["indices"]["haze_density"] < 0.4
    # A site whose clear day is already that hazy (white sand, a white building) does not alert.
    bright_site = run_scenario("construction-site-dust", image=example("construction-dust.jpg"),
                               params={"roi": SITE, "baseline": {"haze_density": 0.5}})
    assert not bright_site.alert


@triton
@db
def test_river_water_colour_anomaly(run_scenario):
    params = {"roi": POND, "baseline": {"water_fu": 5, "water_hue_angle": 200}}
    dyed = run_scenario("river-water-colour-anomaly", image=example("pond-discharge.jpg"), params=params)
    assert dyed.status == "succeeded", dyed.error_message
    assert dyed.alert and dyed.result["indices"]["water_fu"] == 21
    assert [c["ok"] for c in dyed.result["checks"]] == [False, False]
    clean = run_scenario("river-water-colour-anomaly", image=example("aerial-town.jpg"), params=params)
    assert not clean.alert and clean.result["indices"]["water_fu"] <= 6


@triton
@db
def test_streetlight_failure(run_scenario):
    dark = run_scenario("streetlight-failure", image=example("streetlight-dark.jpg"), params={"roi": LAMP})
    assert dark.status == "succeeded", dark.error_message
    assert dark.alert and dark.result["indices"]["mean_brightness"] < 25
    lit = scenes.lamp_light(photo("streetlight-dark.jpg"), scenes.LEUVEN_LAMP)
    working = run_scenario("streetlight-failure", image=jpeg(lit), params={"roi": LAMP})
    assert not working.alert and working.result["indices"]["mean_brightness"] > 50


@triton
@db
def test_image_index_refuses_unknown_indices(run_scenario):
    with pytest.raises(ApplicationError, match="unknown index"):
        run_scenario("streetlight-failure", image=example("streetlight-dark.jpg"),
                     params={"checks": [{"index": "brightness", "min": 30}]})


@triton
@db
def test_open_burning_by_colour_then_flicker(run_scenario):
    # By default flame colour alone never alerts: without a source there is no flicker to see.
    with pytest.raises(ApplicationError, match="flicker") as refused:
        run_scenario("open-burning", image=example("lawn-open-burning.jpg"))
    assert refused.value.code == "source_required"  # refused at submit, before it is queued
    colour_only = {"require_flicker": False}
    burning = run_scenario("open-burning", image=example("lawn-open-burning.jpg"), params=colour_only)
    assert burning.status == "succeeded", burning.error_message
    assert burning.alert and burning.result["confidence"].startswith("colour only")
    assert burning.result["regions"]
    assert not run_scenario("open-burning", image=example("crowd.jpg"), params=colour_only).alert

    lawn = cv2.resize(photo("crowd.jpg"), scenes.SIZE, interpolation=cv2.INTER_AREA)
    heap = scenes.add_burning_pile(lawn, scenes.LAWN_PILE, seed=11)
    frames = [scenes.add_fire(heap, (160, 426), width=150, height=h, seed=s) for s, h in ((3, 110), (4, 190), (5, 140))]
    results = [run_scenario("open-burning", image=jpeg(f), source="field-cam-1") for f in frames]
    assert [r.alert for r in results] == [False, False, True]  # flicker needs three frames
    assert results[-1].result["confidence"] == "colour and flicker"
    assert results[-1].result["frames"] == 3 and results[-1].result["flicker"] >= 0.1


@triton
@db
def test_workplace_fire_and_a_steady_fire_coloured_object(run_scenario):
    colour_only = {"require_flicker": False}
    fire = run_scenario("workplace-fire", image=example("workplace-fire.jpg"), params=colour_only)
    assert fire.status == "succeeded", fire.error_message
    assert fire.alert and fire.result["fire_fraction"] > 0.01
    assert not run_scenario("workplace-fire", image=example("workplace.jpg"), params=colour_only).alert
    strict = run_scenario("workplace-fire", image=example("workplace-fire.jpg"), source="hall")
    assert not strict.alert and strict.result["confidence"].startswith("colour only")
    # The same flame-coloured picture frame after frame (a poster, a lamp): suppressed once it is steady.
    still = [run_scenario("workplace-fire", image=example("workplace-fire.jpg"), source="lobby", params=colour_only)
             for _ in range(3)]
    assert [r.alert for r in still] == [True, True, False]
    assert still[-1].result["confidence"].startswith("steady colour")


@triton
@db
def test_power_line_foreign_object_against_the_first_frame(run_scenario):
    params = {"roi": CORRIDOR}
    reference = run_scenario("power-line-foreign-object", image=example("power-line-reference.jpg"), params=params,
                             source="line-7")
    assert reference.status == "succeeded", reference.error_message
    assert not reference.alert and reference.result["reference"]["source"] == "this_frame"
    again = scenes.recapture(photo("power-line-reference.jpg"), gain=0.9, shift=(-2, 2), seed=9)
    quiet = run_scenario("power-line-foreign-object", image=jpeg(again), params=params, source="line-7")
    assert not quiet.alert and quiet.result["change_fraction"] == 0.0
    assert quiet.result["reference"] == {"source": "history", "request_id": str(reference.pk)}
    bag = run_scenario("power-line-foreign-object", image=example("power-line-foreign-object.jpg"), params=params,
                       source="line-7")
    assert bag.alert and bag.result["reference"]["request_id"] == str(reference.pk)
    (region,) = bag.result["regions"]
    assert box_overlaps(region["box"], scenes.BAG_X - 20, 95, scenes.BAG_X + 20, 140)
    # Another camera has its own reference.
    other = run_scenario("power-line-foreign-object", image=example("power-line-foreign-object.jpg"), params=params,
                         source="line-8")
    assert not other.alert and other.result["reference"]["source"] == "this_frame"


@triton
def test_the_evaluation_runner_keeps_its_reference_frame_as_the_database_does(triton_url):
    """The rule reads its reference frame through ``ctx.stored_input``: the worker's Context reads the
    database, the evaluation runner's its own earlier frames (it has no database to read)."""
    from services.inference.evaluation.runner import Runner

    runner = Runner("power-line-foreign-object", params={"roi": CORRIDOR})
    first = runner.run(content=example("power-line-reference.jpg"), source="line-7")
    assert first.data["reference"]["source"] == "this_frame"
    reference_id = runner.last_id
    bag = runner.run(content=example("power-line-foreign-object.jpg"), source="line-7")
    assert bag.alert and bag.data["reference"] == {"source": "history", "request_id": reference_id}


@triton
@db
def test_power_line_change_needs_a_source_or_a_reference(run_scenario):
    row = run_scenario("power-line-foreign-object", image=example("power-line-foreign-object.jpg"))
    assert row.status == "failed" and row.error_code == "invalid_input" and "source" in row.error_message


@triton
@db
def test_product_defect_against_a_golden_sample_in_the_params(run_scenario):
    golden = {"reference_image": base64.b64encode(example("pcb-golden.jpg")).decode()}
    defect = run_scenario("product-surface-defect", image=example("pcb-defect.jpg"), params=golden)
    assert defect.status == "succeeded", defect.error_message
    assert defect.alert and defect.result["reference"] == {"source": "params"}
    boxes = [r["box"] for r in defect.result["regions"]]
    x, y, w, h = scenes.PCB_COMPONENT
    assert any(box_overlaps(b, x, y, x + w, y + h) for b in boxes)  # the missing part
    assert any(box_overlaps(b, 380, 262, 470, 300) for b in boxes)  # the scratch
    good = scenes.recapture(photo("pcb-golden.jpg"), gain=0.92, shift=(2, -1), seed=9)
    assert not run_scenario("product-surface-defect", image=jpeg(good), params=golden).alert
    with pytest.raises(ApplicationError, match="reference_image"):
        run_scenario("product-surface-defect", image=jpeg(good), params={"reference_image": "bm90IGFuIGltYWdl"})


@triton
@db
def test_illegal_construction_against_the_reference_view(run_scenario):
    first = run_scenario("illegal-construction", image=example("aerial-town.jpg"), source="tower-3")
    assert not first.alert and first.result["reference"]["source"] == "this_frame"
    hazy = scenes.add_haze(scenes.recapture(photo("aerial-town.jpg"), gain=1.0, shift=(1, 2), seed=9), 0.85)
    assert not run_scenario("illegal-construction", image=jpeg(hazy), source="tower-3").alert
    shed = run_scenario("illegal-construction", image=example("illegal-structure.jpg"), source="tower-3")
    assert shed.status == "succeeded", shed.error_message
    assert shed.alert and len(shed.result["regions"]) == 1
    x, y = scenes.AERIAL_SHED
    assert box_overlaps(shed.result["regions"][0]["box"], x, y, x + 60, y + 36)


@triton
@db
def test_road_surface_collapse_and_reset_after_repair(run_scenario):
    params = {"roi": ROAD}
    run_scenario("road-surface-collapse", image=example("leuven-street.jpg"), params=params, source="gate-st")
    collapse = run_scenario("road-surface-collapse", image=example("road-collapse.jpg"), params=params,
                            source="gate-st")
    assert collapse.status == "succeeded", collapse.error_message
    assert collapse.alert and collapse.result["change_fraction"] > 0.03
    relit = scenes.recapture(photo("leuven-street.jpg"), gain=1.1, shift=(-1, 2), seed=9)
    assert not run_scenario("road-surface-collapse", image=jpeg(relit), params=params, source="gate-st").alert
    # The damaged road becomes the reference (say the repair is scheduled): it no longer alerts.
    reset = run_scenario("road-surface-collapse", image=example("road-collapse.jpg"),
                         params={**params, "reset_reference": True}, source="gate-st")
    assert not reset.alert and reset.result["reference"]["source"] == "this_frame"
    same = run_scenario("road-surface-collapse", image=example("road-collapse.jpg"), params=params, source="gate-st")
    assert not same.alert and same.result["reference"]["request_id"] == str(reset.pk)


def test_every_example_file_exists_and_is_small():
    names = ["leuven-street.jpg", "chimney-black-smoke.jpg", "road-collapse.jpg", "streetlight-dark.jpg",
             "aerial-town.jpg", "construction-dust.jpg", "pond-discharge.jpg", "illegal-structure.jpg",
             "workplace.jpg", "workplace-fire.jpg", "power-line-reference.jpg", "power-line-foreign-object.jpg",
             "pcb-golden.jpg", "pcb-defect.jpg", "lawn-open-burning.jpg"]
    for name in names:
        assert (EXAMPLES / name).stat().st_size < 150 * 1024, name



# The reference view each change scenario's example is compared with (see examples/NOTICE.md).
CHANGE_REFERENCES = {
    "power-line-foreign-object": "power-line-reference.jpg",
    "product-surface-defect": "pcb-golden.jpg",
    "illegal-construction": "aerial-town.jpg",
    "road-surface-collapse": "leuven-street.jpg",
}


@triton
@db
def test_every_catalog_example_alerts_with_its_example_params(run_scenario):
    from services.catalog.services import catalog_data

    mine = [s for s in catalog_data()["scenarios"] if s["pipeline"] in {"image_index", "image_change", "fire_colour"}]
    assert len(mine) == 10
    for scenario in mine:
        params = scenario.get("example_params") or {}
        if scenario["pipeline"] == "image_change":
            first = run_scenario(scenario["slug"], image=example(CHANGE_REFERENCES[scenario["slug"]]), params=params,
                                 source="example")
            assert first.result["reference"]["source"] == "this_frame", scenario["slug"]
        row = run_scenario(scenario["slug"], image=example(scenario["example_input"]), params=params, source="example")
        assert row.status == "succeeded" and row.alert, (scenario["slug"], row.error_message, row.result)
