"""Portal pages of live sources without a browser: who sees and changes what, the forms' errors, the
zone and binding forms, the device key shown once, and the site map's geometry."""

import hashlib
import io
import json
import uuid
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from services.catalog.models import Scenario
from services.events.models import Event
from services.inference.models import InferenceRequest
from services.sources import services
from services.sources.models import Binding, Source
from services.sources.views import masked_url, site_map
from tests.signals import finished_heard
from tests.sources.conftest import actor_of

pytestmark = pytest.mark.django_db

ZONE = [[0.1, 0.5], [0.6, 0.5], [0.6, 0.95], [0.1, 0.95]]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _jpeg(color=(40, 90, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def camera(manager_a) -> Source:
    source = services.source_create(
        actor=actor_of(manager_a), name="南门停车场 2号", kind="camera", mode="pull",
        url="http://127.0.0.1:9/snapshot.jpg", latitude=Decimal("31.230416"), longitude=Decimal("121.473701"),
        address="南门路 1 号", zones=[{"name": "禁停区", "polygon": ZONE}],
    )
    services.binding_create(actor=actor_of(manager_a), source=source, scenario_slug="vehicle-illegal-parking",
                            params={"min_dwell_s": 120}, zone_name="禁停区", interval_s=30)
    source.last_frame.save("frame.jpg", ContentFile(_jpeg()), save=False)
    Source.objects.filter(pk=source.pk).update(last_frame=source.last_frame.name, status="online",
                                               last_seen_at=timezone.now())
    source.refresh_from_db()
    return source


def test_pages_render_for_manager_operator_and_auditor(camera, manager_a, operator_a, auditor, manager_b):
    for user in (manager_a, operator_a, auditor):
        client = _client(user)
        listing = client.get("/sources/")
        assert listing.status_code == 200
        text = listing.content.decode()
        assert f'data-source="{camera.pk}"' in text and "南门停车场 2号" in text
        assert 'class="site-map"' in text and "°N" in text and "°E" in text  # plotted without tiles
        page = client.get(f"/sources/{camera.pk}/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "禁停区" in body and "机动车违法停放" in body
        assert ("zones-field" in body) == (user == manager_a)  # only managers get the editor
    # The frame is an input: the bureau sees it, the auditor sees results only.
    frame = _client(operator_a).get(f"/sources/{camera.pk}/frame.jpg")
    assert frame.status_code == 200 and frame["Content-Type"] == "image/jpeg"
    assert b"".join(frame.streaming_content)[:2] == b"\xff\xd8"
    assert _client(auditor).get(f"/sources/{camera.pk}/frame.jpg").status_code == 403
    assert "sources:frame" not in _client(auditor).get(f"/sources/{camera.pk}/").content.decode()
    # English second: the same pages in the other language.
    english = _client(manager_a)
    english.cookies["django_language"] = "en"
    text = english.get(f"/sources/{camera.pk}/").content.decode()
    assert "Last frame and zones" in text and "Cameras and devices" in text and "Save zones" in text
    # Filters.
    assert f'data-source="{camera.pk}"' not in _client(manager_a).get("/sources/?status=offline").content.decode()
    assert f'data-source="{camera.pk}"' in _client(manager_a).get("/sources/?kind=camera").content.decode()


def test_other_bureau_gets_404_for_source_frame_and_forms(camera, manager_b, operator_b):
    binding = camera.bindings.get()
    assert f'data-source="{camera.pk}"' not in _client(operator_b).get("/sources/").content.decode()
    for user in (manager_b, operator_b):
        client = _client(user)
        assert client.get(f"/sources/{camera.pk}/").status_code == 404
        assert client.get(f"/sources/{camera.pk}/frame.jpg").status_code == 404
    client = _client(manager_b)
    assert client.get(f"/sources/{camera.pk}/edit/").status_code == 404
    assert client.post(f"/sources/{camera.pk}/zones/", {"zones": "[]"}).status_code == 404
    assert client.post(f"/sources/{camera.pk}/key/").status_code == 404
    assert client.post(f"/sources/{camera.pk}/bindings/", {"scenario": "loitering"}).status_code == 404
    assert client.post(f"/sources/{camera.pk}/bindings/{binding.pk}/remove/").status_code == 404
    assert client.get(f"/sources/{uuid.uuid4()}/").status_code == 404
    camera.refresh_from_db()
    assert camera.zones and camera.bindings.count() == 1


def test_operators_and_auditors_cannot_edit(camera, operator_a, auditor):
    binding = camera.bindings.get()
    for user in (operator_a, auditor):
        client = _client(user)
        assert client.get("/sources/new/").status_code == 403
        assert client.post("/sources/new/", {"name": "x", "kind": "camera", "mode": "push"}).status_code == 403
        assert client.get(f"/sources/{camera.pk}/edit/").status_code == 403
        assert client.post(f"/sources/{camera.pk}/zones/", {"zones": "[]"}).status_code == 403
        assert client.post(f"/sources/{camera.pk}/key/").status_code == 403
        assert client.post(f"/sources/{camera.pk}/bindings/",
                           {"scenario": "loitering", "interval_s": 60}).status_code == 403
        assert client.get(f"/sources/{camera.pk}/bindings/{binding.pk}/").status_code == 403
        assert client.post(f"/sources/{camera.pk}/bindings/{binding.pk}/remove/").status_code == 403
    camera.refresh_from_db()
    assert camera.zones[0]["name"] == "禁停区" and camera.bindings.count() == 1
    assert Source.objects.count() == 1
    assert "/sources/new/" not in _client(operator_a).get("/sources/").content.decode()


def test_create_form_shows_validation_errors(manager_a):
    client = _client(manager_a)
    assert client.get("/sources/new/").status_code == 200
    empty = client.post("/sources/new/", {"name": "", "kind": "camera", "mode": "pull"})
    assert empty.status_code == 400 and 'id="id_name_error"' in empty.content.decode()
    half = client.post("/sources/new/", {"name": "a", "kind": "camera", "mode": "push", "latitude": "31.2"})
    assert half.status_code == 400 and "纬度和经度" in half.content.decode()
    # The service's own refusal (an unsupported URL scheme) is shown on the form.
    bad = client.post("/sources/new/", {"name": "a", "kind": "camera", "mode": "pull", "url": "ftp://10.0.0.1/x"})
    assert bad.status_code == 400 and 'id="id_url_error"' in bad.content.decode()
    assert "此地址不能用作接入源地址" in bad.content.decode()
    assert Source.objects.count() == 0
    made = client.post("/sources/new/", {"name": "巡逻无人机", "kind": "drone", "mode": "push",
                                         "latitude": "31.1", "longitude": "121.4"})
    source = Source.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/sources/{source.pk}/"
    assert source.kind == "drone" and source.latitude == Decimal("31.1")
    edited = client.post(f"/sources/{source.pk}/edit/", {"name": "巡逻无人机 1", "kind": "drone", "mode": "push",
                                                          "address": "东区"})
    assert edited.status_code == 302
    source.refresh_from_db()
    assert source.name == "巡逻无人机 1" and source.address == "东区" and not source.enabled


def test_zone_editor_form_saves_and_refuses(camera, manager_a):
    client = _client(manager_a)
    zones = [{"name": "禁停区", "polygon": ZONE}, {"name": "人行道", "polygon": [[0, 0], [0.3, 0], [0.3, 0.2]]}]
    saved = client.post(f"/sources/{camera.pk}/zones/", {"zones": json.dumps(zones)})
    assert saved.status_code == 302 and saved["Location"].endswith("#zones")
    camera.refresh_from_db()
    assert [z["name"] for z in camera.zones] == ["禁停区", "人行道"]
    # A two-point polygon is refused, and the page keeps what was drawn so nothing is lost.
    drawn = json.dumps([{"name": "线", "polygon": [[0.1, 0.1], [0.2, 0.2]]}])
    refused = client.post(f"/sources/{camera.pk}/zones/", {"zones": drawn})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert 'role="alert"' in body and "&quot;线&quot;" in body
    garbled = client.post(f"/sources/{camera.pk}/zones/", {"zones": "{not json"})
    assert garbled.status_code == 400
    camera.refresh_from_db()
    assert len(camera.zones) == 2


def test_bindings_add_edit_remove_with_errors(camera, manager_a):
    client = _client(manager_a)
    url = f"/sources/{camera.pk}/bindings/"
    not_json = client.post(url, {"scenario": "loitering", "interval_s": 60, "params": "{min"})
    assert not_json.status_code == 400 and "JSON" in not_json.content.decode()
    too_often = client.post(url, {"scenario": "loitering", "interval_s": 2})
    assert too_often.status_code == 400 and 'id="id_interval_s_error"' in too_often.content.decode()
    # The scenario's schema refuses the parameter (min_dwell_s is at least 10): the service says so.
    bad_params = client.post(url, {"scenario": "loitering", "interval_s": 60, "params": '{"min_dwell_s": 1}'})
    assert bad_params.status_code == 400 and 'id="id_params_error"' in bad_params.content.decode()
    assert "参数不符合该场景的要求" in bad_params.content.decode()
    assert camera.bindings.count() == 1

    added = client.post(url, {"scenario": "loitering", "interval_s": 45, "zone_name": "禁停区",
                              "params": '{"min_dwell_s": 60}'})
    assert added.status_code == 302
    binding = camera.bindings.get(scenario__slug="loitering")
    assert binding.interval_s == 45 and binding.zone_name == "禁停区" and binding.params["min_dwell_s"] == 60

    edit_url = f"/sources/{camera.pk}/bindings/{binding.pk}/"
    assert client.get(edit_url).status_code == 200
    assert client.post(edit_url, {"interval_s": 120, "zone_name": "", "params": ""}).status_code == 302
    binding.refresh_from_db()
    assert binding.interval_s == 120 and binding.zone_name == "" and not binding.enabled
    assert client.post(f"/sources/{camera.pk}/bindings/{binding.pk}/remove/").status_code == 302
    assert not Binding.objects.filter(pk=binding.pk).exists()
    assert client.get(f"/sources/{camera.pk}/bindings/{uuid.uuid4()}/").status_code == 404


def test_device_key_is_shown_once(manager_a):
    source = services.source_create(actor=actor_of(manager_a), name="巡逻手机 7", kind="patrol_phone", mode="push")
    client = _client(manager_a)
    issued = client.post(f"/sources/{source.pk}/key/")
    assert issued.status_code == 200 and issued["Cache-Control"] == "no-store"
    body = issued.content.decode()
    source.refresh_from_db()
    start = body.index('id="new-key-value">') + len('id="new-key-value">')
    key = body[start:body.index("</code>", start)]
    assert key.startswith(f"cad_{source.key_prefix}_") and services.source_for_device_key(key=key) == source
    again = client.get(f"/sources/{source.pk}/").content.decode()
    assert key not in again and f"{source.key_prefix}…" in again
    assert client.post(f"/sources/{source.pk}/key/revoke/").status_code == 302
    assert services.source_for_device_key(key=key) is None


def test_recent_requests_and_events_link_out(camera, operator_a, bureau_a):
    scenario = Scenario.objects.get(slug="vehicle-illegal-parking")
    request = InferenceRequest.objects.create(
        bureau=bureau_a, scenario=scenario, source=camera.request_source, input_kind="image",
        input_sha256=hashlib.sha256(b"frame").hexdigest(), status=InferenceRequest.Status.SUCCEEDED, alert=True,
        finished_at=timezone.now(), result={"summary": "1 vehicle parked 310 s in zone (≥ 120 s)"},
    )
    finished_heard(request.pk)
    event = Event.objects.get(source=camera.request_source)
    body = _client(operator_a).get(f"/sources/{camera.pk}/").content.decode()
    assert f"/requests/{request.pk}/" in body
    assert f"/events/{event.pk}/" in body


def test_site_map_places_sources_inside_the_plot():
    sources = [
        Source(name="a", latitude=Decimal("31.2300"), longitude=Decimal("121.4700"), status="online"),
        Source(name="b", latitude=Decimal("31.2400"), longitude=Decimal("121.4900"), status="offline"),
        Source(name="c", status="unknown"),
    ]
    plot = site_map(sources)
    xs = {m["source"].name: m["x"] for m in plot["markers"]}
    ys = {m["source"].name: m["y"] for m in plot["markers"]}
    assert set(xs) == {"a", "b"}
    assert xs["b"] > xs["a"] and ys["b"] < ys["a"]  # east is right, north is up
    for name in xs:
        assert plot["left"] + 20 <= xs[name] <= plot["right"] - 20
        assert plot["top"] + 20 <= ys[name] <= plot["bottom"] - 20
    assert plot["markers"][-1]["source"].name == "b"  # offline drawn on top
    assert plot["parallels"] and plot["meridians"] and plot["scale_label"].endswith(("m", "km"))
    # Scale: 0.01° of latitude is about 1113 m.
    metres_per_px = 0.01 * 111_320 / (ys["a"] - ys["b"])
    bar_metres = float(plot["scale_label"].split()[0]) * (1000 if plot["scale_label"].endswith("km") else 1)
    assert abs(plot["scale_px"] * metres_per_px - bar_metres) < 1
    assert site_map([sources[2]]) is None


def test_stream_password_is_masked():
    assert masked_url("rtsp://admin:s3cret@10.0.0.5:554/stream1") == "rtsp://admin:***@10.0.0.5:554/stream1"
    assert masked_url("http://127.0.0.1:8000/snap.jpg") == "http://127.0.0.1:8000/snap.jpg"
