"""The catalog's promises, checked against the data and the model repository."""

from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from services.catalog.services import DATA_DIR, catalog_data
from services.inference import pipelines
from services.inference.tritonserver import repository_models

DATA = catalog_data()
ACTIVE = [s for s in DATA["scenarios"] if s.get("status", "active") == "active"]


def test_at_least_40_working_scenarios_and_5_per_domain():
    assert len(ACTIVE) >= 40
    per_domain = Counter(s["domain"] for s in ACTIVE)
    assert {d["slug"] for d in DATA["domains"]} == set(per_domain)
    assert min(per_domain.values()) >= 5, per_domain


def test_every_working_scenario_has_its_family_models_and_example():
    shipped = set(repository_models(Path(settings.TRITON_MODEL_REPOSITORY)))
    for scenario in ACTIVE:
        assert scenario["pipeline"] in pipelines.names(), scenario["slug"]
        assert set(scenario.get("models", [])) <= shipped, scenario["slug"]
        assert scenario.get("example_input"), scenario["slug"]
        assert (DATA_DIR / "examples" / scenario["example_input"]).is_file(), scenario["slug"]
        for field in ("name_zh", "name_en", "description_zh", "description_en", "method_zh", "method_en", "owner"):
            assert scenario.get(field), (scenario["slug"], field)


def test_every_shipped_model_carries_a_licence_notice():
    root = Path(settings.TRITON_MODEL_REPOSITORY)
    for name in repository_models(root):
        assert (root / name / "LICENSE").is_file(), name


def test_model_needed_scenarios_say_so_and_do_not_count(capsys):
    needed = [s for s in DATA["scenarios"] if s.get("status") == "model_needed"]
    assert needed and all(s not in ACTIVE for s in needed)
    call_command("catalog_report", min_working=40)
    out = capsys.readouterr().out
    assert f"{len(ACTIVE)} working scenarios of {len(DATA['scenarios'])}" in out
