"""The evaluation harness (manage.py evaluate): its metrics and parsers as units, and every committed
set run through the real pipelines and the real Triton, failing below a set's floor (issue 15)."""

import shutil

import numpy as np
import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from services.inference import evaluation
from services.inference.evaluation.metrics import alert_metrics, char_accuracy, edit_distance
from services.inference.pipelines.ocr_fields import parse_layout
from services.inference.pipelines.primitives import TextSegment
from tests.inference.test_family_plates_pose import _model_module


def test_edit_distance_and_char_accuracy():
    assert edit_distance("苏E2J7M9", "苏E2J7M9") == 0
    assert edit_distance("京XR361Q", "京XR3610") == 1
    assert edit_distance("", "abc") == 3
    assert char_accuracy("京XR361Q", "京XR3610") == pytest.approx(6 / 7)
    assert char_accuracy("京XR361Q", "") == 0.0


def test_alert_metrics_count_false_alarms_on_ordinary_scenes_only():
    rows = [(True, True, False), (True, False, False), (False, True, False), (False, False, True),
            (False, True, True), (False, False, True), (False, False, True)]
    m = alert_metrics(rows)
    assert m["precision"] == pytest.approx(1 / 3) and m["recall"] == pytest.approx(0.5)
    assert m["false_alarm_rate"] == pytest.approx(0.25) and m["negatives"] == 4
    assert "precision" not in alert_metrics([(False, False, True)])  # no positives: only false alarms


def test_a_set_misses_its_floor_or_ceiling(tmp_path):
    (tmp_path / "set.yaml").write_text(yaml.safe_dump({
        "kind": "alerts", "scenarios": ["x"], "floors": {"recall": 0.8}, "ceilings": {"false_alarm_rate": 0.02},
        "samples": []}))
    evalset = evaluation.load_set(tmp_path)
    report = evaluation.Report(scenario="x", kind="alerts", evalset=evalset,
                               metrics={"recall": 0.9, "false_alarm_rate": 0.0})
    assert report.passed
    report.metrics["false_alarm_rate"] = 0.05
    assert report.shortfalls() == ["false_alarm_rate 0.05 > ceiling 0.02"]
    del report.metrics["recall"]
    assert len(report.shortfalls()) == 2


def test_every_committed_set_names_a_known_evaluator_and_scenario():
    from services.inference.evaluation.runner import scenario_item

    sets = evaluation.discover_sets()
    assert {s.name for s in sets} >= {"plates", "negatives", "licences", "chimney", "dust", "fire", "ocr",
                                      "duplicates"}
    for evalset in sets:
        evaluation.get(evalset.kind)
        assert evalset.samples and (evalset.floors or evalset.ceilings), evalset.name
        for slug in evalset.scenarios + evalset.meta.get("shared_with", []):
            scenario_item(slug)


def test_plates_set_covers_every_province_and_colour():
    plates = evaluation.load_set(evaluation.SETS_DIR / "plates")
    provinces = set("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
    assert len(provinces) == 31 and {s["plate"][0] for s in plates.samples} == provinces
    assert {s["colour"] for s in plates.samples} == {"blue", "green", "yellow"}
    assert {t for s in plates.samples for t in s["tags"]} == {"tilt", "blur", "night"}


def test_plate_views_vote_per_character():
    model = _model_module("plate_reader")

    def read(text, conf=0.9):
        return [(ch, conf) for ch in text]

    # One view reads Q as 0, another slips on the province: the others outvote both.
    text, confidence = model.vote([read("京XR361Q"), read("京XR3610", 0.95), read("豫XR361Q"), read("京XR361Q")])
    assert text == "京XR361Q" and 0 < confidence < 1
    # Reads that do not look like a plate do not vote when some do.
    assert model.vote([read("XR361Q", 0.99), read("京XR361Q", 0.6)])[0] == "京XR361Q"
    assert model.vote([[], []]) == ("", 0.0)


def test_text_band_fills_the_recogniser_height():
    model = _model_module("plate_reader")
    image = np.zeros((200, 400, 3), np.uint8)
    corners = np.array([[100, 60], [320, 60], [320, 130], [100, 130]], np.float32)
    band = model.text_band(image, corners, model.READ_VIEWS[0])
    assert band.shape == (model.REC_HEIGHT, round(model.REC_HEIGHT * model.READ_VIEWS[0][4]), 3)


def _seg(text, x1, y1, x2, y2):
    return TextSegment(text, 0.99, (x1, y1, x2, y1, x2, y2, x1, y2))


def test_licence_fields_follow_the_layout_with_wrapped_values_and_two_columns():
    labels = {"name": ["名称"], "business_scope": ["经营范围"], "registered_capital": ["注册资本"],
              "address": ["住所"], "type": ["类型"], "registration_date": ["登记日期"]}
    segments = [
        _seg("名称", 80, 240, 140, 270), _seg("深圳市某某科技有限公司", 210, 238, 560, 272),
        _seg("注册资本", 800, 240, 900, 270), _seg("人民币壹佰万元整", 970, 240, 1200, 270),
        _seg("类型", 80, 290, 140, 320), _seg("有限责任公司", 210, 290, 400, 320),
        _seg("住所", 800, 290, 860, 320), _seg("深圳市龙岗区布吉街道吉华", 970, 290, 1300, 320),
        _seg("路1号5楼", 972, 335, 1100, 365),
        _seg("经营范围", 80, 340, 180, 370), _seg("电子产品的研发；国内", 210, 340, 560, 370),
        _seg("贸易；物业管理。", 212, 385, 480, 415),
        _seg("登记日期2025年10月24日", 800, 700, 1100, 730),
    ]
    fields = parse_layout(segments, labels)
    assert fields == {
        "name": "深圳市某某科技有限公司", "registered_capital": "人民币壹佰万元整", "type": "有限责任公司",
        "address": "深圳市龙岗区布吉街道吉华路1号5楼", "business_scope": "电子产品的研发；国内贸易；物业管理。",
        "registration_date": "2025年10月24日",
    }


@pytest.mark.triton
@pytest.mark.django_db
def test_evaluate_all_meets_every_floor_on_the_committed_sets(triton_server, catalog, capsys):
    """What CI holds the scenarios to: every committed set through the real pipelines and Triton.
    (The database holds the catalog for evaluators that need it, e.g. routing's bureaus.)"""
    call_command("evaluate", "--all")
    out = capsys.readouterr().out
    assert "FAIL" not in out and "evaluation(s) passed" in out
    for name in ("plates", "negatives", "licences", "duplicates"):
        assert f"on {name} (" in out


@pytest.mark.triton
def test_evaluate_fails_below_the_floor(triton_server, tmp_path):
    """Mislabelled plates read correctly score 0 exact: the command must exit non-zero."""
    source = evaluation.load_set(evaluation.SETS_DIR / "plates")
    samples = source.samples[:3]
    for sample in samples:
        shutil.copy(source.path / sample["file"], tmp_path / sample["file"])
    wrong = [{**s, "plate": s["plate"][0] + "A00000"} for s in samples]
    (tmp_path / "set.yaml").write_text(yaml.safe_dump(
        {"kind": "plates", "scenarios": ["site-vehicle-entry-log"], "floors": {"exact": 0.97}, "samples": wrong},
        allow_unicode=True), encoding="utf-8")
    with pytest.raises(CommandError, match="below the floor"):
        call_command("evaluate", "site-vehicle-entry-log", "--set", str(tmp_path))


def test_results_file_matches_the_committed_sets():
    """evaluation/results.json is written by evaluate --write: every recorded set still exists and
    every figure met its floor when it was recorded."""
    from services.catalog.accuracy import load_results

    names = {s.name for s in evaluation.discover_sets()}
    recorded = load_results()["scenarios"]
    assert recorded["site-vehicle-entry-log"]["plates"]["metrics"]["exact"] >= 0.97
    for slug, sets in recorded.items():
        for name, figures in sets.items():
            assert name in names and figures["passed"], (slug, name)


@pytest.mark.django_db
def test_scenario_page_and_catalog_report_show_what_was_measured(client, operator_a, capsys):
    client.force_login(operator_a)
    page = client.get("/catalog/site-vehicle-entry-log/").content.decode()
    assert 'data-evaluation-set="plates"' in page and 'data-metric="exact"' in page
    assert 'data-method-class="trained_model"' in page and "124 个样本" in page
    page = client.get("/catalog/chimney-black-smoke/").content.decode()
    assert 'data-method-class="rule_of_thumb"' in page and 'data-metric="false_alarm_rate"' in page
    assert 'id="precision"' in page  # review precision sits beside it
    call_command("catalog_report")
    out = capsys.readouterr().out
    assert "measured on plates (124 samples" in out and "rule of thumb" in out
