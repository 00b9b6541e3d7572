"""``manage.py check`` refuses a catalog that names a rule family no pipeline registers (the check
inference registers, so the catalog app need not import inference)."""

from django.core import checks

from services.catalog.services import catalog_data
from services.inference.checks import catalog_families_exist


def test_the_shipped_catalog_names_only_registered_families():
    assert catalog_families_exist() == []
    assert "inference.E001" not in {m.id for m in checks.run_checks(tags=["catalog"])}


def test_a_scenario_with_an_unknown_family_is_an_error():
    scenarios = [*catalog_data()["scenarios"][:2], {"slug": "potholes", "pipeline": "pothole_depth"}]
    errors = catalog_families_exist(scenarios=scenarios)
    assert [(e.id, e.level) for e in errors] == [("inference.E001", checks.ERROR)]
    assert "'potholes'" in errors[0].msg and "'pothole_depth'" in errors[0].msg
