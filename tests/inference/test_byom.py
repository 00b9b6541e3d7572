"""Bring your own model: an ONNX classifier uploaded for a "model needed" scenario goes into the
running Triton and the scenario starts working; a broken model is refused and nothing changes."""

import io
import json

import numpy as np
import onnx
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from onnx import TensorProto, helper
from PIL import Image
from rest_framework.test import APIClient

from services.accounts.models import Membership
from services.accounts.services import bureau_upsert, member_upsert
from services.audit.models import AuditEntry
from services.catalog.models import Domain, Scenario
from services.catalog.services import catalog_load, entitlement_upsert
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.triton, pytest.mark.django_db]


def colour_classifier() -> bytes:
    """A real (tiny) ONNX network: average colour → two logits, "red" when red dominates."""
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])
    weights = helper.make_tensor("w", TensorProto.FLOAT, [3, 2], [-1.0, 1.0, 1.0, -1.0, 1.0, -1.0])
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["scaled"]),
        helper.make_node("Mul", ["scaled", "gain"], ["logits"]),
    ]
    gain = helper.make_tensor("gain", TensorProto.FLOAT, [1], [8.0])
    graph = helper.make_graph(nodes, "colour", [x], [y], initializer=[weights, gain])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def jpeg(rgb) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), rgb).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def needed_scenario(catalog, bureau_a):
    scenario = Scenario.objects.create(
        slug="garbage-overflow-test", domain=Domain.objects.get(slug="city-management"), name_zh="垃圾满溢",
        name_en="Garbage overflow", input_kind="image", pipeline="image_classifier",
        status=Scenario.Status.MODEL_NEEDED,
    )
    entitlement_upsert(bureau=bureau_a, scenario=scenario)
    return scenario


@pytest.fixture
def admin_client(catalog):
    platform = bureau_upsert(slug="platform", name_zh="平台", name_en="Platform")
    user = member_upsert(bureau=platform, username="padmin", password=PASSWORD,
                         role=Membership.Role.PLATFORM_ADMIN).user
    client = APIClient()
    client.force_login(user)
    return client


def upload(client, slug, content, **extra):
    data = {"onnx": SimpleUploadedFile("m.onnx", content), "labels": "clear,red", "alert_labels": "red",
            "licence": "Apache-2.0, trained by the district's own data team", "mean": "[0,0,0]",
            "std": "[1,1,1]", **extra}
    return client.post(f"/api/v1/scenarios/{slug}/model", data, format="multipart")


def test_uploaded_model_serves_the_scenario(admin_client, needed_scenario, run_scenario, triton_url):
    response = upload(admin_client, needed_scenario.slug, colour_classifier())
    assert response.status_code == 201, response.content
    needed_scenario.refresh_from_db()
    assert needed_scenario.status == "active" and needed_scenario.custom_model == "custom_garbage_overflow_test"
    assert response.json()["status"] == needed_scenario.status
    folder = settings.TRITON_BYOM_REPOSITORY / "custom_garbage_overflow_test"
    assert (folder / "LICENSE").read_text().startswith("Apache-2.0")

    red = run_scenario(needed_scenario.slug, image=jpeg((220, 30, 30)))
    assert red.status == "succeeded", red.error_message
    assert red.alert is True and red.result["top"] == "red"
    assert red.model_versions == {"custom_garbage_overflow_test": "1"}
    green = run_scenario(needed_scenario.slug, image=jpeg((30, 200, 40)))
    assert green.alert is False and green.result["top"] == "clear"

    # Putting the model in service is a catalog change, audited with who did it.
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CATALOG_CHANGED, object_id=needed_scenario.slug)
    assert entry.actor == "user:padmin" and entry.bureau == "platform"
    assert json.loads(entry.details)["custom_model"] == "custom_garbage_overflow_test"

    catalog_load()  # reloading the catalog data must not undo the upload
    needed_scenario.refresh_from_db()
    assert needed_scenario.status == "active" and needed_scenario.pipeline == "image_classifier"


@pytest.mark.parametrize(
    ("content", "extra", "code"),
    [
        (b"this is not an onnx file", {}, "invalid_model"),
        (None, {"labels": "a,b,c", "alert_labels": "a"}, "invalid_model"),  # 2 outputs, 3 labels
        (None, {"alert_labels": "blue"}, "invalid_labels"),
        (None, {"licence": ""}, "licence_required"),
    ],
)
def test_a_bad_model_is_refused_and_nothing_changes(admin_client, needed_scenario, triton_url, content, extra, code):
    def files():
        root = settings.TRITON_BYOM_REPOSITORY
        return {(str(p.relative_to(root)), p.stat().st_mtime_ns) for p in root.rglob("*")}

    before = files()
    response = upload(admin_client, needed_scenario.slug, content or colour_classifier(), **extra)
    assert response.status_code in (400, 422), response.content
    assert response.json()["error"]["code"] == code
    needed_scenario.refresh_from_db()
    assert needed_scenario.status == "model_needed" and not needed_scenario.custom_model
    assert files() == before
    assert not AuditEntry.objects.filter(object_type="scenario", object_id=needed_scenario.slug).exists()


def test_only_platform_admins_upload(api_a, needed_scenario):
    response = upload(api_a, needed_scenario.slug, colour_classifier())
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_platform_admin"


def test_a_shipped_model_cannot_be_replaced(admin_client, catalog):
    response = upload(admin_client, "crowd-gathering", colour_classifier())
    assert response.status_code == 409


def test_colour_classifier_is_what_it_claims():
    import onnxruntime as ort

    session = ort.InferenceSession(colour_classifier())
    red = np.zeros((1, 3, 32, 32), np.float32)
    red[:, 0] = 1.0
    assert session.run(None, {"image": red})[0].argmax() == 1
