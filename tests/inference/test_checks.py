"""``manage.py check`` refuses settings under which a drain outlives its time limit, and a catalog
that names a rule family no pipeline registers (the check
inference registers, so the catalog app need not import inference)."""

from django.core import checks

from services.catalog.services import catalog_data
from services.inference.checks import catalog_families_exist, drain_fits_time_limit


def test_the_shipped_catalog_names_only_registered_families():
    assert catalog_families_exist() == []
    assert "inference.E001" not in {m.id for m in checks.run_checks(tags=["catalog"])}


def test_a_scenario_with_an_unknown_family_is_an_error():
    scenarios = [*catalog_data()["scenarios"][:2], {"slug": "potholes", "pipeline": "pothole_depth"}]
    errors = catalog_families_exist(scenarios=scenarios)
    assert [(e.id, e.level) for e in errors] == [("inference.E001", checks.ERROR)]
    assert "'potholes'" in errors[0].msg and "'pothole_depth'" in errors[0].msg


def test_the_default_drain_fits_the_time_limit():
    assert drain_fits_time_limit() == []


def test_a_drain_longer_than_half_the_soft_time_limit_is_an_error(settings):
    settings.CITYAI_DRAIN_MAX_SECONDS, settings.CELERY_TASK_SOFT_TIME_LIMIT = 90.0, 120
    assert [e.id for e in drain_fits_time_limit()] == ["inference.E002"]
    assert "inference.E002" in {m.id for m in checks.run_checks(tags=["celery"])}
