import pytest

from services.catalog.models import Domain, Scenario
from services.catalog.services import catalog_data, catalog_load
from services.inference import pipelines


@pytest.mark.django_db
def test_loading_twice_changes_nothing():
    first = catalog_load()
    assert first.created
    second = catalog_load()
    assert not second.changed and second.unchanged == len(first.created)


@pytest.mark.django_db
def test_an_edited_entry_updates_its_row():
    catalog_load()
    data = catalog_data()
    data["scenarios"][0]["name_en"] = "Renamed"
    report = catalog_load(data=data)
    assert report.updated == [f"scenario:{data['scenarios'][0]['slug']}"]
    assert Scenario.objects.get(slug=data["scenarios"][0]["slug"]).name_en == "Renamed"


@pytest.mark.django_db
def test_every_scenario_names_a_registered_family_and_valid_defaults():
    from services.catalog.params import resolve_params

    catalog_load()
    assert Domain.objects.count() == 6
    for scenario in Scenario.objects.all():
        family = pipelines.get(scenario.pipeline)
        params = resolve_params(scenario.params_schema, scenario.example_params)
        if family.check_params:
            family.check_params(params)
        assert scenario.name_zh and scenario.name_en and scenario.method_zh and scenario.method_en
