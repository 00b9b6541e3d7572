"""The sources REST API: managers write, operators and auditors read, the outsider bureau gets 404;
bindings, zones, device keys and the device push (good, bad, replaced and revoked keys, wrong input,
no binding, disabled source, capture times); audit entries for every change."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from services.audit.models import AuditEntry
from services.inference.models import InferenceRequest
from services.sources.models import Binding, Source
from tests.images import example
from tests.sources.conftest import logged_in

pytestmark = pytest.mark.django_db

ZONES = [{"name": "kerb", "polygon": [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0], [0.1, 1.0]]}]


def source_changes() -> list[str]:
    entries = AuditEntry.objects.filter(action="source_changed").order_by("seq")
    return [json.loads(e.details)["change"] for e in entries]


def create_source(client, **fields):
    body = {"name": "东门路口 1 号", "kind": "camera", "mode": "pull", "url": "http://127.0.0.1:9/cam/snapshot.jpg",
            "latitude": 22.543096, "longitude": 114.057865, "address": "东门路 1 号", "zones": ZONES, **fields}
    return client.post("/api/v1/sources", body, format="json")


@pytest.fixture
def mgr(manager_a) -> APIClient:
    return logged_in(manager_a)


@pytest.fixture
def source(mgr) -> dict:
    response = create_source(mgr)
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def binding(mgr, source) -> dict:
    response = mgr.post(f"/api/v1/sources/{source['id']}/bindings",
                        {"scenario": "vehicle-illegal-parking", "zone_name": "kerb", "interval_s": 30,
                         "params": {"min_dwell_s": 120}}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_manager_registers_a_camera_and_its_binding(mgr, source, binding):
    assert source["bureau"] == "bureau-a" and source["status"] == "unknown" and source["zones"] == ZONES
    assert source["latitude"] == pytest.approx(22.543096) and source["request_source"] == f"source:{source['id']}"
    assert binding["scenario"] == "vehicle-illegal-parking" and binding["params"] == {"min_dwell_s": 120}
    row = Source.objects.get(pk=source["id"])
    assert row.next_pull_at is not None and row.next_pull_at <= timezone.now()  # pulled at the next tick
    listed = mgr.get(f"/api/v1/sources/{source['id']}/bindings").json()
    assert [b["id"] for b in listed["results"]] == [binding["id"]]
    changes = source_changes()
    assert changes == ["created", "binding_created"]
    assert AuditEntry.objects.filter(action="source_changed").first().actor == "user:mgr_a"


def test_updates_deletes_and_their_audit(mgr, source, binding):
    detail = f"/api/v1/sources/{source['id']}"
    for body in ({"actor": "x"}, {"source": "x"}, {"status": "online"}):
        assert mgr.patch(detail, body, format="json").json()["error"]["code"] == "unknown_fields"
        assert mgr.patch(f"/api/v1/bindings/{binding['id']}", body, format="json").status_code == 400
    changed = mgr.patch(detail, {"name": "东门路口 2 号", "enabled": False}, format="json").json()
    assert changed["name"] == "东门路口 2 号" and changed["enabled"] is False
    patched = mgr.patch(f"/api/v1/bindings/{binding['id']}", {"interval_s": 10, "enabled": False}, format="json")
    assert patched.status_code == 200 and patched.json()["interval_s"] == 10
    assert mgr.delete(f"/api/v1/bindings/{binding['id']}").status_code == 204
    assert mgr.delete(detail).status_code == 204
    assert mgr.get(detail).status_code == 404
    changes = source_changes()
    assert changes == ["created", "binding_created", "updated", "binding_updated", "binding_deleted", "deleted"]


def test_the_other_bureau_gets_404_everywhere(source, binding, manager_b, operator_b, api_b):
    sid, bid = source["id"], binding["id"]
    for client in (logged_in(manager_b), logged_in(operator_b), api_b):
        assert client.get("/api/v1/sources").json()["count"] == 0
        assert client.get(f"/api/v1/sources/{sid}").status_code == 404
        assert client.patch(f"/api/v1/sources/{sid}", {"name": "x"}, format="json").status_code == 404
        assert client.delete(f"/api/v1/sources/{sid}").status_code == 404
        assert client.put(f"/api/v1/sources/{sid}/zones", {"zones": []}, format="json").status_code == 404
        assert client.post(f"/api/v1/sources/{sid}/device-key").status_code == 404
        assert client.get(f"/api/v1/sources/{sid}/bindings").status_code == 404
        assert client.post(f"/api/v1/sources/{sid}/bindings", {"scenario": "loitering"},
                           format="json").status_code == 404
        assert client.get(f"/api/v1/sources/{sid}/frame.jpg").status_code == 404
        assert client.get(f"/api/v1/bindings/{bid}").status_code == 404
        assert client.patch(f"/api/v1/bindings/{bid}", {"interval_s": 5}, format="json").status_code == 404
        assert client.delete(f"/api/v1/bindings/{bid}").status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert logged_in(manager_b).get(f"/api/v1/sources/{missing}").json() == \
        logged_in(manager_b).get(f"/api/v1/sources/{sid}").json()
    assert Source.objects.get(pk=sid).name == "东门路口 1 号" and Binding.objects.filter(pk=bid).exists()


def test_operators_api_clients_and_auditors_read_but_do_not_write(source, binding, operator_a, api_a, api_auditor):
    sid, bid = source["id"], binding["id"]
    for client in (logged_in(operator_a), api_a, api_auditor):
        assert client.get("/api/v1/sources").json()["count"] == 1
        assert client.get(f"/api/v1/sources/{sid}").status_code == 200
        assert client.get(f"/api/v1/bindings/{bid}").status_code == 200
        assert create_source(client).status_code == 403
        assert client.patch(f"/api/v1/sources/{sid}", {"name": "x"}, format="json").status_code == 403
        assert client.delete(f"/api/v1/sources/{sid}").status_code == 403
        assert client.put(f"/api/v1/sources/{sid}/zones", {"zones": []}, format="json").status_code == 403
        assert client.post(f"/api/v1/sources/{sid}/device-key").status_code == 403
        assert client.post(f"/api/v1/sources/{sid}/bindings", {"scenario": "loitering"},
                           format="json").status_code == 403
        assert client.patch(f"/api/v1/bindings/{bid}", {"interval_s": 5}, format="json").status_code == 403
        assert client.delete(f"/api/v1/bindings/{bid}").status_code == 403
    assert Source.objects.count() == 1 and Binding.objects.count() == 1


def test_the_last_frame_is_for_the_bureau_not_the_auditor(mgr, source, operator_a, api_auditor):
    url = f"/api/v1/sources/{source['id']}/frame.jpg"
    assert mgr.get(url).json()["error"]["code"] == "no_frame"
    row = Source.objects.get(pk=source["id"])
    from django.core.files.base import ContentFile

    row.last_frame.save("frame.jpg", ContentFile(example("crowd.jpg")))
    response = logged_in(operator_a).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == example("crowd.jpg")
    assert mgr.get(f"/api/v1/sources/{source['id']}").json()["frame_url"].endswith("frame.jpg")
    assert api_auditor.get(url).status_code == 403


@pytest.mark.parametrize(("fields", "code"), [
    ({"url": "ftp://127.0.0.1/cam"}, "invalid_url"),
    ({"url": ""}, "missing_url"),
    ({"mode": "push"}, "invalid_url"),
    ({"url": "file:///etc/passwd"}, "invalid_url"),
    ({"kind": "satellite"}, "invalid_kind"),
    ({"name": "  "}, "missing_name"),
    ({"latitude": 95}, "invalid_coordinates"),
    ({"longitude": "east"}, "invalid_coordinates"),
    ({"zones": [{"name": "a", "polygon": [[0, 0], [1, 1]]}]}, "invalid_zones"),
    ({"zones": [{"name": "a", "polygon": [[0, 0], [1.5, 0], [1, 1]]}]}, "invalid_zones"),
    ({"zones": ZONES + ZONES}, "invalid_zones"),
    ({"owner": "someone"}, "unknown_fields"),
])
def test_bad_source_fields_are_400(mgr, fields, code):
    response = create_source(mgr, **fields)
    assert response.status_code == 400 and response.json()["error"]["code"] == code, response.json()


def test_a_refusal_names_its_field(mgr, source):
    error = create_source(mgr, latitude=95).json()["error"]
    assert error["code"] == "invalid_coordinates" and list(error["details"]["fields"]) == ["latitude"]
    error = mgr.patch(f"/api/v1/sources/{source['id']}", {"url": "gopher://x"}, format="json").json()["error"]
    assert error["code"] == "invalid_url" and list(error["details"]["fields"]) == ["url"]


def test_a_new_mode_starts_from_no_address(mgr, source):
    detail = f"/api/v1/sources/{source['id']}"
    pushed = mgr.patch(detail, {"mode": "push"}, format="json")
    assert pushed.status_code == 200 and pushed.json()["url"] == ""
    assert mgr.patch(detail, {"mode": "pull"}, format="json").json()["error"]["code"] == "missing_url"
    assert mgr.patch(detail, {"mode": "pull", "url": "rtsp://127.0.0.1:8554/live"}, format="json").status_code == 200
    assert mgr.patch(detail, {"name": "东门"}, format="json").json()["url"] == "rtsp://127.0.0.1:8554/live"


def test_the_list_filters_are_checked(mgr, source):
    assert mgr.get("/api/v1/sources", {"mode": "pull", "kind": "camera"}).json()["count"] == 1
    assert mgr.get("/api/v1/sources", {"mode": "push"}).json()["count"] == 0
    assert mgr.get("/api/v1/sources", {"limit": 1, "offset": 0}).json()["count"] == 1
    refused = mgr.get("/api/v1/sources", {"status": "broken"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_status"


def test_the_schema_shows_what_each_endpoint_accepts(mgr):
    """The schema's inputs are the serializers that check the bodies: a new source has no switch, a
    change has one and no defaults (what is not sent stays), zones are named polygons."""
    schema = mgr.get("/api/v1/schema", {"format": "json"}).json()

    def body(path, method) -> dict:
        ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]

    create, change = body("/api/v1/sources", "post"), body("/api/v1/sources/{source_id}", "patch")
    assert create["required"] == ["name"] and "enabled" not in create["properties"]
    assert "required" not in change and "enabled" in change["properties"]
    assert all("default" not in field for field in change["properties"].values())
    assert create["properties"]["zones"]["items"]["required"] == ["name", "polygon"]
    binding, binding_change = (body("/api/v1/sources/{source_id}/bindings", "post"),
                               body("/api/v1/bindings/{binding_id}", "patch"))
    assert "scenario" in binding["required"] and "scenario" not in binding_change["properties"]
    assert binding["properties"]["interval_s"]["minimum"] == 5


def test_video_files_only_from_the_video_folder(mgr, tmp_path):
    with override_settings(CITYAI_SOURCES_VIDEO_ROOT=tmp_path):
        inside = create_source(mgr, url=(tmp_path / "clip.avi").as_uri())
        outside = create_source(mgr, url=(tmp_path.parent / "clip.avi").as_uri())
    assert inside.status_code == 201 and outside.json()["error"]["code"] == "invalid_url"


@pytest.mark.parametrize(("fields", "code", "status"), [
    ({"scenario": "complaint-routing"}, "wrong_input_kind", 400),
    ({"scenario": "no-such-scenario"}, "unknown_scenario", 404),
    ({"scenario": "loitering", "interval_s": 2}, "invalid_interval", 400),
    ({"scenario": "loitering", "interval_s": "often"}, "invalid_interval", 400),
    ({"scenario": "loitering", "zone_name": "lawn"}, "invalid_zone_name", 400),
    ({"scenario": "loitering", "zone_name": "kerb", "params": {"zone": [[0, 0], [1, 0], [1, 1]]}},
     "invalid_params", 400),
    ({"scenario": "loitering", "params": {"min_dwell_s": -5}}, "invalid_params", 400),
    ({"scenario": "loitering", "params": ["not", "an", "object"]}, "invalid_params", 400),
])
def test_bad_bindings_are_refused(mgr, source, fields, code, status):
    response = mgr.post(f"/api/v1/sources/{source['id']}/bindings", fields, format="json")
    assert response.status_code == status and response.json()["error"]["code"] == code, response.json()


def test_a_zone_in_use_cannot_disappear(mgr, source, binding):
    url = f"/api/v1/sources/{source['id']}/zones"
    refused = mgr.put(url, {"zones": []}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["details"]["bindings"] == [binding["id"]]
    wider = [{"name": "kerb", "polygon": [[0, 0.4], [1, 0.4], [1, 1], [0, 1]]}, {"name": "lane",
              "polygon": [[0, 0], [0.5, 0], [0.5, 0.4]]}]
    assert mgr.put(url, {"zones": wider}, format="json").json()["zones"] == [
        {"name": z["name"], "polygon": [[float(x), float(y)] for x, y in z["polygon"]]} for z in wider]


def test_camera_passwords_are_masked(mgr):
    body = create_source(mgr, url="rtsp://admin:s3cret@127.0.0.1:8554/live").json()
    assert body["url"] == "rtsp://admin:***@127.0.0.1:8554/live"
    assert Source.objects.get(pk=body["id"]).url == "rtsp://admin:s3cret@127.0.0.1:8554/live"
    assert "s3cret" not in json.dumps(mgr.get("/api/v1/sources").json())


# --- device keys and pushes ---------------------------------------------------------------------------


@pytest.fixture
def drone(mgr) -> dict:
    body = create_source(mgr, name="巡逻无人机 3 号", kind="drone", mode="push", url="", zones=ZONES).json()
    for scenario in ("vehicle-illegal-parking", "crowd-gathering"):
        assert mgr.post(f"/api/v1/sources/{body['id']}/bindings", {"scenario": scenario},
                        format="json").status_code == 201
    return body


def device(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device-Key {key}")
    return client


def frame():
    return SimpleUploadedFile("frame.jpg", example("crowd.jpg"), content_type="image/jpeg")


def issue_key(mgr, source) -> str:
    response = mgr.post(f"/api/v1/sources/{source['id']}/device-key")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["key"].startswith(f"cad_{body['prefix']}_") and body["push_url"].endswith("/api/v1/devices/push")
    return body["key"]


def test_a_device_pushes_a_frame_with_its_key(mgr, drone, bureau_a):
    key = issue_key(mgr, drone)
    assert key not in json.dumps(mgr.get(f"/api/v1/sources/{drone['id']}").json())  # shown once
    assert Source.objects.get(pk=drone["id"]).key_hash != key
    taken = timezone.now() - timedelta(minutes=3)
    response = device(key).post("/api/v1/devices/push", {"image": frame(), "captured_at": taken.isoformat()},
                                format="multipart")
    assert response.status_code == 202, response.json()
    ids = [r["id"] for r in response.json()["requests"]]
    rows = InferenceRequest.objects.filter(pk__in=ids)
    assert sorted(r.scenario.slug for r in rows) == ["crowd-gathering", "vehicle-illegal-parking"]
    assert {(r.bureau_id, r.source, r.captured_at, r.submitted_by_id, r.api_client_id) for r in rows} == {
        (bureau_a.pk, f"source:{drone['id']}", taken, None, None)}
    parking = rows.get(scenario__slug="vehicle-illegal-parking")
    assert parking.params["zone"] == [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]  # the scenario default
    row = Source.objects.get(pk=drone["id"])
    assert row.status == "online" and row.last_seen_at is not None and row.last_frame
    assert Binding.objects.filter(source=row, last_request__isnull=False).count() == 2
    key_entry = AuditEntry.objects.get(action="device_key_issued")
    assert key not in key_entry.details and json.loads(key_entry.details)["prefix"] == key.split("_")[1]


def test_bad_replaced_and_revoked_keys_are_401(mgr, drone, api_a):
    first = issue_key(mgr, drone)
    second = issue_key(mgr, drone)
    for bad in ("cad_nope_nope", first, second[:-1] + ("A" if second[-1] != "A" else "B"), "garbage"):
        response = device(bad).post("/api/v1/devices/push", {"image": frame()}, format="multipart")
        assert response.status_code == 401, bad
        assert response["WWW-Authenticate"].startswith("Device-Key")
    assert APIClient().post("/api/v1/devices/push", {"image": frame()}, format="multipart").status_code == 401
    # A department's API key is not a device key.
    assert api_a.post("/api/v1/devices/push", {"image": frame()}, format="multipart").status_code == 401
    assert device(second).post("/api/v1/devices/push", {"image": frame()}, format="multipart").status_code == 202
    revoked = mgr.delete(f"/api/v1/sources/{drone['id']}/device-key")
    assert revoked.status_code == 200 and revoked.json()["has_device_key"] is False
    assert device(second).post("/api/v1/devices/push", {"image": frame()}, format="multipart").status_code == 401
    actions = AuditEntry.objects.filter(action__startswith="device_key").order_by("seq")
    assert list(actions.values_list("action", flat=True)) == [
        "device_key_issued", "device_key_issued", "device_key_revoked"]
    assert InferenceRequest.objects.count() == 2  # only the one good push


def test_pushes_that_cannot_be_taken(mgr, drone):
    client = device(issue_key(mgr, drone))
    wrong_kind = client.post("/api/v1/devices/push", {"series": [1.0, 2.0, 3.0]}, format="json")
    assert wrong_kind.status_code == 422 and wrong_kind.json()["error"]["code"] == "no_matching_binding"
    for fields, code in [
        ({}, "missing_input"),
        ({"image": SimpleUploadedFile("x.jpg", b"<html>", content_type="image/jpeg")}, "invalid_image"),
        ({"image": frame(), "captured_at": (timezone.now() - timedelta(days=2)).isoformat()}, "invalid_captured_at"),
        ({"image": frame(), "captured_at": (timezone.now() + timedelta(hours=1)).isoformat()}, "invalid_captured_at"),
        ({"image": frame(), "captured_at": "yesterday"}, "invalid_captured_at"),
    ]:
        response = client.post("/api/v1/devices/push", fields, format="multipart")
        assert response.status_code == 400 and response.json()["error"]["code"] == code, response.json()
    mgr.patch(f"/api/v1/sources/{drone['id']}", {"enabled": False}, format="json")
    disabled = client.post("/api/v1/devices/push", {"image": frame()}, format="multipart")
    assert disabled.status_code == 409 and disabled.json()["error"]["code"] == "source_disabled"
    mgr.patch(f"/api/v1/sources/{drone['id']}", {"enabled": True}, format="json")
    for b in mgr.get(f"/api/v1/sources/{drone['id']}/bindings").json()["results"]:
        mgr.delete(b["detail_url"])
    unbound = client.post("/api/v1/devices/push", {"image": frame()}, format="multipart")
    assert unbound.status_code == 422 and unbound.json()["error"]["code"] == "no_matching_binding"
    assert InferenceRequest.objects.count() == 0


def test_a_sensor_pushes_readings(mgr, bureau_a):
    sensor = create_source(mgr, name="桥梁振动传感器", kind="sensor", mode="push", url="", zones=[]).json()
    assert mgr.post(f"/api/v1/sources/{sensor['id']}/bindings", {"scenario": "bridge-vibration-anomaly"},
                    format="json").status_code == 201
    client = device(issue_key(mgr, sensor))
    response = client.post("/api/v1/devices/push", {"series": {"rms": [0.1, 0.2, 0.1, 0.15, 0.12]}}, format="json")
    assert response.status_code == 202, response.json()
    row = InferenceRequest.objects.get(pk=response.json()["requests"][0]["id"])
    assert row.input_kind == "series" and row.input_data == {"rms": [0.1, 0.2, 0.1, 0.15, 0.12]}
    image = client.post("/api/v1/devices/push", {"image": frame()}, format="multipart")
    assert image.status_code == 422


def test_a_push_over_quota_is_refused_and_recorded_on_the_binding(mgr, drone, bureau_a):
    from services.catalog.models import Entitlement

    Entitlement.objects.filter(bureau=bureau_a).update(daily_quota=0)
    response = device(issue_key(mgr, drone)).post("/api/v1/devices/push", {"image": frame()}, format="multipart")
    assert response.status_code == 409 and response.json()["error"]["code"] == "push_refused"
    errors = set(Binding.objects.filter(source_id=drone["id"]).values_list("last_error", flat=True))
    assert len(errors) == 2 and all(e.startswith("quota_exceeded") for e in errors)


@override_settings(CITYAI_DEVICE_RATE_PER_MINUTE=2)
def test_pushes_are_rate_limited_per_device(mgr, drone):
    from services.core.redis import get_redis

    get_redis().flushdb()
    client = device(issue_key(mgr, drone))
    codes = [client.post("/api/v1/devices/push", {"image": frame()}, format="multipart").status_code
             for _ in range(3)]
    assert codes == [202, 202, 429]


def test_a_push_source_that_goes_quiet_is_offline_until_it_pushes_again(mgr, drone, settings):
    from services.sources.services import sources_mark_silent

    settings.CITYAI_SOURCES_PUSH_SILENCE_SECONDS = 600
    key = issue_key(mgr, drone)
    assert device(key).post("/api/v1/devices/push", {"image": frame()}, format="multipart").status_code == 202
    pushed_at = Source.objects.get(pk=drone["id"]).last_seen_at
    assert sources_mark_silent(now=pushed_at + timedelta(minutes=9)) == 0
    assert Source.objects.get(pk=drone["id"]).status == "online"
    assert sources_mark_silent(now=pushed_at + timedelta(minutes=11)) == 1
    quiet = Source.objects.get(pk=drone["id"])
    assert (quiet.status, quiet.last_error) == ("offline", "no push for more than 10 min")
    assert sources_mark_silent(now=pushed_at + timedelta(minutes=30)) == 0  # already offline
    assert device(key).post("/api/v1/devices/push", {"image": frame()}, format="multipart").status_code == 202
    back = Source.objects.get(pk=drone["id"])
    assert (back.status, back.last_error) == ("online", "")
