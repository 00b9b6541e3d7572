"""The situation view in a real browser (Debian's Chromium via Playwright, see tests/browser.py) at
the command room's 1920×1080: the operations centre and a bureau each see their own situation, a new
alert appears without a reload, a counter opens its filtered list, a dropped connection is said and
survived, three alerts are reviewed from the keyboard, and the report charts respond. Screenshots go
to docs/screenshots/ (the README shows them)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from services.events.models import Event, EventReview
from tests.conftest import PASSWORD
from tests.ops.conftest import camera

DOCS = Path(settings.BASE_DIR) / "docs" / "screenshots"
WALL = {"width": 1920, "height": 1080}
# The page asks for new figures every 5 s: give assertions on live changes a few rounds.
expect.set_options(timeout=20_000)


@pytest.fixture
def wall_page(browser, live_server):
    """A 1920×1080 browser window, and a way to log in a user in it (each in its own context)."""
    contexts = []

    def open_as(username: str):
        context = browser.new_context(viewport=WALL, locale="zh-CN")
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: print("console:", msg.type, msg.text))
        page.on("pageerror", lambda exc: print("pageerror:", exc))
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("用户名", exact=True).fill(username)
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield open_as
    for context in contexts:
        context.close()


def shot(page, name: str, *, full: bool = False) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=full)


def test_situation_live_click_through_wall_and_keyboard_review(
    wall_page, live_server, ops_centre, police_op, bureau_a, bureau_b, alert,
):
    cam_a = camera(bureau_a, "南门公交站", "22.720100", "114.246500")
    cam_a2 = camera(bureau_a, "龙城广场", "22.722900", "114.240100")
    cam_b = camera(bureau_b, "乙局仓库", "22.716400", "114.252200")
    alert(bureau_a, source=cam_a.request_source, snapshot=True)
    alert(bureau_a, source=cam_a2.request_source, snapshot=True)
    # B's alerts are of a scenario urban management owns: they never reach public security.
    alert(bureau_b, slug="vehicle-illegal-parking", source=cam_b.request_source, compute_ms=300.0)

    # The operations centre: the whole district, live.
    page = wall_page("ops_centre")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="态势").click()
    expect(page.get_by_role("heading", name="全区态势")).to_be_visible()
    expect(page.locator("[data-counter=open_events] [data-value]")).to_have_text("3")
    expect(page.locator("figure[data-chart][data-ready=true]")).to_have_count(3)
    expect(page.locator("#ops-map .ops-event")).to_have_count(3)
    expect(page.locator("#ops-map .ops-source")).to_have_count(3)
    first_stamp = page.locator("#ops-updated").text_content()

    # A camera of bureau B fires: the alert shows up without a reload.
    cam_b2 = camera(bureau_b, "乙局东门", "22.718800", "114.249000")
    new = alert(bureau_b, slug="vehicle-illegal-parking", source=cam_b2.request_source)
    new_event = Event.objects.get(first_request=new)
    expect(page.locator(f"#ops-recent tr[data-event='{new_event.pk}']")).to_be_visible()
    expect(page.locator("[data-counter=open_events] [data-value]")).to_have_text("4")
    expect(page.locator(f"#ops-map .ops-event[data-event='{new_event.pk}']")).to_have_count(1)
    expect(page.locator("#ops-updated")).not_to_have_text(first_stamp or "")
    expect(page.locator(".ops-live")).to_have_attribute("data-connection", "live")
    shot(page, "ops-01-district-desk", full=True)

    # The connection drops: the page says so and keeps the figures; it recovers by itself.
    page.context.set_offline(True)
    expect(page.locator(".ops-live")).to_have_attribute("data-connection", "offline", timeout=20_000)
    expect(page.locator("#ops-connection")).to_contain_text("连接中断")
    expect(page.locator("[data-counter=open_events] [data-value]")).to_have_text("4")
    page.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(page.locator(".ops-live")).to_have_attribute("data-connection", "live")

    # Every number opens the list behind it, already filtered.
    page.locator("[data-counter=open_events]").click()
    expect(page).to_have_url(re.compile(r"/events/\?view=all&status=open"))
    expect(page.locator("tr[data-event]")).to_have_count(4)

    # The command-room wall: one dark 1920×1080 screen, nothing to scroll.
    page.goto(f"{live_server.url}/ops/wall/")
    expect(page.locator("body.theme-dark")).to_be_visible()
    expect(page.locator("figure[data-chart][data-ready=true]")).to_have_count(2)
    expect(page.locator("#ops-recent tr[data-event]")).to_have_count(4)
    assert page.evaluate("() => document.documentElement.scrollHeight") <= WALL["height"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WALL["width"]
    shot(page, "ops-02-command-room-wall")

    # The report charts respond: a tooltip on hover, a range button, a data table behind each.
    page.goto(f"{live_server.url}/reports/")
    page.set_viewport_size({"width": 1360, "height": 1000})
    expect(page.locator("figure[data-chart][data-ready=true]")).to_have_count(3)
    canvas = page.locator("[data-chart=chart-compute] .chart-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tooltip = page.locator("[data-chart=chart-compute] .chart-canvas > div").filter(has_text=re.compile("甲局|乙局"))
    expect(tooltip.first).to_be_visible()
    page.get_by_role("button", name="最近 7 天").click()
    expect(page.get_by_role("button", name="最近 7 天")).to_have_attribute("aria-pressed", "true")
    page.locator("[data-chart=chart-compute] summary").click()
    expect(page.locator("[data-chart=chart-compute] table tbody tr")).to_have_count(2)
    shot(page, "ops-05-report-charts", full=True)

    # Public security, one bureau: its own situation (A's crowd alerts were routed to it), not B's cameras.
    police = wall_page("ps_op")
    police.goto(f"{live_server.url}/ops/")
    expect(police.get_by_role("heading", name="本部门态势")).to_be_visible()
    expect(police.locator("[data-counter=open_events] [data-value]")).to_have_text("2")
    expect(police.locator("#ops-map .ops-event")).to_have_count(2)
    expect(police.locator("#ops-map")).not_to_contain_text("乙局")
    expect(police.locator("#ops-map .ops-source")).to_have_count(0)  # police has no cameras of its own
    expect(police.locator("#ops-recent tr[data-event]")).to_have_count(2)
    shot(police, "ops-03-bureau-desk", full=True)

    # Review at the speed of a queue: three alerts, keyboard only, each lands on the next.
    alert(bureau_a, source=camera(bureau_a, "东门路口", "22.719000", "114.243000").request_source, snapshot=True)
    police.goto(f"{live_server.url}/events/")
    police.get_by_role("link", name="快速审核").click()
    cards = police.locator(".review-card")
    expect(cards).to_have_count(3)
    expect(cards.nth(0)).to_have_class(re.compile("is-current"))
    expect(cards.nth(0).locator(".review-evidence img")).to_be_visible()
    assert police.evaluate("el => el.naturalWidth", cards.nth(0).locator("img").element_handle()) > 0
    shot(police, "ops-04-fast-review")
    police.keyboard.press("c")
    expect(cards.nth(0)).to_have_attribute("data-state", "confirmed")
    expect(cards.nth(1)).to_have_class(re.compile("is-current"))
    police.keyboard.press("r")
    police.keyboard.type("画面中无人员聚集")
    police.keyboard.press("Escape")
    police.keyboard.press("d")
    expect(cards.nth(1)).to_have_attribute("data-state", "dismissed")
    expect(cards.nth(2)).to_have_class(re.compile("is-current"))
    police.keyboard.press("c")
    expect(cards.nth(2)).to_have_attribute("data-state", "confirmed")
    expect(police.locator("#review-done")).to_have_text("3")
    expect(police.locator("#review-finished")).to_be_visible()
    shot(police, "ops-04b-fast-review-done")
    decisions = sorted(EventReview.objects.values_list("decision", flat=True))
    assert decisions == ["confirm", "confirm", "dismiss"]
    assert EventReview.objects.get(decision="dismiss").reason == "画面中无人员聚集"
