"""A model put in service for a "model needed" scenario goes through the catalog's service: the
scenario runs it, the change is in the audit log, and the cached catalog sees it at once."""

import json

import pytest

from services.audit.models import AuditEntry
from services.catalog.models import Domain, Scenario
from services.catalog.selectors import scenario_get_active
from services.catalog.services import catalog_load, scenario_custom_model_set
from services.core.errors import ApplicationError

pytestmark = pytest.mark.django_db


@pytest.fixture
def needed():
    catalog_load()
    return Scenario.objects.create(
        slug="needs-a-model", domain=Domain.objects.get(slug="city-management"), name_zh="需模型",
        name_en="Needs a model", input_kind="image", pipeline="image_classifier",
        status=Scenario.Status.MODEL_NEEDED,
    )


def test_the_scenario_runs_the_model_and_the_change_is_audited(needed):
    with pytest.raises(ApplicationError):
        scenario_get_active(slug=needed.slug)  # cached as "model needed"
    schema = {"type": "object", "properties": {"model": {"const": "custom_x", "default": "custom_x"}}}
    scenario_custom_model_set(scenario=needed, model_name="custom_x", pipeline="image_classifier",
                              params_schema=schema, by="user:padmin", bureau="platform",
                              details={"onnx_sha256": "ab" * 32})

    needed.refresh_from_db()
    assert (needed.status, needed.custom_model, needed.model_names) == ("active", "custom_x", ["custom_x"])
    assert needed.params_schema == schema
    assert scenario_get_active(slug=needed.slug).custom_model == "custom_x"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CATALOG_CHANGED, object_type="scenario",
                                   object_id=needed.slug)
    assert (entry.actor, entry.bureau) == ("user:padmin", "platform")
    details = json.loads(entry.details)
    assert details["custom_model"] == "custom_x" and details["onnx_sha256"] == "ab" * 32
    assert details["previous"] == {"custom_model": "", "status": "model_needed", "pipeline": "image_classifier",
                                   "model_names": []}
