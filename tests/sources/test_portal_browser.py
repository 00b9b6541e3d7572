"""The sources portal in a real browser (Debian's Chromium): a manager finds a camera on the site map,
draws a no-parking zone on its last frame by clicking, saves it, and binds a scenario to the zone.

The camera is real as far as the platform can tell: the project's own frame server on loopback
serves a street scene, and one pull through the sources service fetches the frame the zone is
drawn on. Screenshots go to test-artifacts/screenshots/.
"""

import re
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from services.sources import services
from services.sources.models import Source
from tests.sources.conftest import actor_of

# Where the manager clicks, as shares of the frame's width and height.
CORNERS = [(0.10, 0.55), (0.62, 0.55), (0.62, 0.95), (0.10, 0.95)]


def test_manager_draws_a_zone_and_binds_a_scenario(page, live_server, login, shoot, frame_server, manager_a):
    actor = actor_of(manager_a)
    camera = services.source_create(
        actor=actor, name="南门路口 3号", kind="camera", mode="pull", url=frame_server.url("street"),
        latitude=Decimal("31.230416"), longitude=Decimal("121.473701"), address="南门路与人民路交叉口",
    )
    drone = services.source_create(actor=actor, name="巡逻无人机 1", kind="drone", mode="push",
                                   latitude=Decimal("31.236100"), longitude=Decimal("121.481900"))
    Source.objects.filter(pk=drone.pk).update(status="offline", consecutive_failures=3,
                                              last_error="no push for 15 min")
    outcome = services.source_pull(source_id=camera.pk, now=timezone.now())
    assert outcome.ok, outcome.error

    login("mgr_a")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="摄像头与设备").click()
    expect(page.get_by_role("heading", name="摄像头与设备", exact=True)).to_be_visible()
    # Both sources are plotted, coloured by status, without any map tiles.
    expect(page.locator(f".site-map a[data-source='{camera.pk}'].status-online")).to_have_count(1)
    expect(page.locator(f".site-map a[data-source='{drone.pk}'].status-offline")).to_have_count(1)
    expect(page.locator("#sources tr[data-source]")).to_have_count(2)
    shoot("16-sources-list")

    page.locator(f".site-map a[data-source='{camera.pk}']").click()
    expect(page.get_by_role("heading", name="南门路口 3号")).to_be_visible()
    frame = page.locator(".zone-stage img")
    expect(frame).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=frame.element_handle())

    # Draw the zone: four clicks on the frame, a name, close, save.
    stage = page.locator(".zone-stage")
    box = stage.bounding_box()
    for x, y in CORNERS:
        stage.click(position={"x": x * box["width"], "y": y * box["height"]})
    expect(page.locator(".zone-vertex")).to_have_count(4)
    page.get_by_role("button", name="闭合区域").click()
    expect(page.locator("#zone-status")).to_contain_text("请为区域取一个")  # a zone needs a name
    page.get_by_label("新区域名称").fill("禁停区")
    page.get_by_role("button", name="闭合区域").click()
    expect(page.locator(".zone-list li[data-zone='禁停区']")).to_be_visible()
    expect(page.locator(".zone-layer polygon")).to_have_count(1)
    page.get_by_role("button", name="保存区域").click()
    page.wait_for_url(re.compile(r"#zones$"))
    expect(page.get_by_text("区域已保存（1 个）。")).to_be_visible()

    camera.refresh_from_db()
    assert [z["name"] for z in camera.zones] == ["禁停区"]
    for (x, y), (sx, sy) in zip(camera.zones[0]["polygon"], CORNERS, strict=True):
        assert abs(x - sx) < 0.01 and abs(y - sy) < 0.01

    # Run the illegal-parking scenario on that zone every 30 s.
    page.get_by_text("在此接入源上运行场景").click()
    page.get_by_label("场景", exact=True).select_option("vehicle-illegal-parking")
    page.get_by_label("区域", exact=True).select_option("禁停区")
    page.get_by_label("间隔（秒）").fill("30")
    page.get_by_role("button", name="添加场景").click()
    row = page.locator("#bindings tr[data-binding]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("机动车违法停放")
    expect(row).to_contain_text("禁停区")
    binding = camera.bindings.get()
    assert binding.zone_name == "禁停区" and binding.interval_s == 30
    # The saved zone is drawn over the frame after the reload too.
    expect(page.locator(".zone-layer polygon")).to_have_count(1)
    expect(page.locator(".zone-label", has_text="禁停区")).to_be_visible()
    shoot("16-source")
