"""The loop in a real browser (Debian's Chromium via Playwright, see tests/browser.py):
an operator of the responsible bureau reviews, dispatches, accepts and resolves with a photo; the
bureau's manager verifies and closes."""

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from services.events.models import Event, WorkOrder
from tests.signals import finished_heard


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "scene.jpg"
    Image.new("RGB", (320, 240), (60, 140, 80)).save(path, "JPEG")
    return path


def test_review_dispatch_resolve_verify(page, live_server, login, shoot, fired, owner_op, owner_mgr, photo):
    request = fired(source="南门公交站")
    finished_heard(request.pk)
    event = Event.objects.get()

    login("ps_op")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="事件与工单").click()
    expect(page.get_by_role("heading", name="事件", exact=True)).to_be_visible()
    row = page.locator(f"tr[data-event='{event.pk}']")
    expect(row).to_contain_text("南门公交站")
    expect(row).to_contain_text("待审核")
    shoot("events-01-queue")
    row.get_by_role("link", name="人员聚集预警").click()

    page.get_by_label("理由").fill("现场视频核实，确有聚集")
    page.get_by_role("button", name="确认属实").click()
    expect(page.get_by_text("事件已确认。")).to_be_visible()
    page.get_by_label("处置要求").fill("派员到场疏导")
    page.get_by_role("button", name="派发工单").click()
    expect(page.get_by_text("工单已派发。")).to_be_visible()
    page.get_by_role("button", name="接收工单").click()
    expect(page.get_by_text("工单已接收。")).to_be_visible()
    page.get_by_label("处置情况说明").fill("已到场疏散人群")
    page.get_by_label("现场照片").set_input_files(str(photo))
    page.get_by_role("button", name="提交办结").click()
    expect(page.get_by_text("工单已提交办结，等待核查。")).to_be_visible()
    expect(page.get_by_role("img", name="处置照片")).to_be_visible()
    # An operator may not verify: no verify button for them.
    expect(page.get_by_role("button", name="核查通过并结案")).to_have_count(0)
    shoot("events-02-resolved")

    page.context.clear_cookies()
    login("ps_mgr")
    page.goto(f"{live_server.url}/events/board/")
    card = page.locator(f"[data-column=resolved] [data-work-order='{WorkOrder.objects.get().pk}']")
    expect(card).to_be_visible()
    shoot("events-03-board")
    card.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/events/{event.pk}/"))
    page.get_by_label("核查意见").fill("照片确认已疏散")
    page.get_by_role("button", name="核查通过并结案").click()
    expect(page.get_by_text("核查通过，已结案。")).to_be_visible()
    expect(page.locator("[data-wo-status=closed]")).to_be_visible()
    expect(page.locator(".history li[data-kind=work_order]")).to_have_count(4)
    shoot("events-04-closed")
    assert WorkOrder.objects.get().status == "closed" and Event.objects.get().status == "closed"
