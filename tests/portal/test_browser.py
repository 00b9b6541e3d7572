"""The bureau portal in a real browser: a live server on the test database, the real Triton and a
real Celery worker. Screenshots of the main pages go to test-artifacts/screenshots/."""

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from services.catalog.models import Entitlement, Scenario
from services.inference.models import InferenceRequest
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.triton, pytest.mark.worker]

EXAMPLES = Path(__file__).resolve().parents[2] / "services" / "catalog" / "data" / "examples"


def test_login_browse_filter_and_switch_language(page, live_server, shoot, operator_a):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    shoot("01-login")

    # Log in with the keyboard only: focus starts in the user name field and is visibly outlined.
    assert page.evaluate("() => document.activeElement.id") == "id_username"
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type("op_a")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/")
    expect(page.get_by_role("heading", name="甲局")).to_be_visible()
    expect(page.get_by_role("link", name="人员聚集预警")).to_be_visible()
    shoot("02-overview")
    # The first Tab on a page lands on "skip to content".
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="场景目录").click()
    expect(page.get_by_role("heading", name="场景目录", exact=True)).to_be_visible()
    total = Scenario.objects.count()
    expect(page.locator(".scenario-card")).to_have_count(total)
    shoot("03-catalog")

    # Filter by domain with the select, as a form.
    page.get_by_role("combobox", name="领域").select_option("public-safety")
    page.get_by_role("button", name="应用").click()
    expect(page).to_have_url(re.compile(r"domain=public-safety"))
    in_domain = Scenario.objects.filter(domain__slug="public-safety").count()
    expect(page.locator(".scenario-card")).to_have_count(in_domain)
    expect(page.locator(".scenario-card[data-slug=crowd-gathering]")).to_be_visible()
    for label in page.locator(".scenario-card .domain-label").all_inner_texts():
        assert label == "公共安全"

    # Search, combined with an input-kind filter.
    page.get_by_role("link", name="清除").click()
    page.get_by_label("搜索", exact=True).fill("人员聚集")
    page.get_by_role("button", name="应用").click()
    expect(page.locator(".scenario-card[data-slug=crowd-gathering]")).to_be_visible()
    page.get_by_label("输入类型").select_option("text")
    page.get_by_role("button", name="应用").click()
    expect(page.locator(".scenario-card")).to_have_count(0)
    expect(page.get_by_text("没有符合条件的场景。")).to_be_visible()

    # The scenario page explains itself: method, model licence, params, example.
    page.goto(live_server.url + "/catalog/crowd-gathering/")
    expect(page.get_by_role("heading", name="人员聚集预警")).to_be_visible()
    expect(page.get_by_role("heading", name="方法与模型")).to_be_visible()
    expect(page.get_by_role("link", name="许可声明")).to_be_visible()
    expect(page.locator("table code", has_text="min_count")).to_be_visible()
    example = page.locator("figure img")
    expect(example).to_be_visible()
    assert page.evaluate("el => el.naturalWidth", example.element_handle()) > 0
    shoot("04-scenario")

    # Switch to English and back; the choice sticks across pages.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Crowd gathering")).to_be_visible()
    expect(page.get_by_role("heading", name="Method and model")).to_be_visible()
    page.goto(live_server.url + "/catalog/")
    expect(page.get_by_role("heading", name="Scenario catalog", exact=True)).to_be_visible()
    shoot("05-catalog-en")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="场景目录", exact=True)).to_be_visible()

    # A narrow screen still shows the catalog in one column.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/catalog/?domain=public-safety")
    widths = page.locator(".scenario-card").evaluate_all("cards => cards.map(c => c.getBoundingClientRect().width)")
    assert widths and min(widths) > 300
    shoot("06-catalog-mobile")


def test_submit_a_photo_and_see_the_annotated_result(page, live_server, login, shoot, operator_a, celery_worker):
    login("op_a")
    page.goto(live_server.url + "/catalog/crowd-gathering/")
    page.get_by_label("图片").set_input_files(str(EXAMPLES / "crowd.jpg"))
    page.get_by_label("参数（JSON，可选）").fill('{"min_count": 3}')
    page.get_by_role("button", name="提交", exact=True).click()

    expect(page).to_have_url(re.compile(r"/requests/[0-9a-f-]{36}/$"))
    request_id = uuid.UUID(page.url.rstrip("/").rsplit("/", 1)[-1])
    shoot("07-request-progress")
    # htmx polls the status fragment until the worker has run the scenario on Triton.
    expect(page.locator("#request-body")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    expect(page.locator("#decision")).to_contain_text("告警")
    image = page.locator("#annotated-image")
    expect(image).to_be_visible()
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=image.element_handle())
    expect(page.locator("#model-calls")).to_contain_text("object_detector")
    expect(page.locator("#objects")).to_contain_text("person")
    shoot("08-request-result")

    row = InferenceRequest.objects.get(pk=request_id)
    assert row.status == InferenceRequest.Status.SUCCEEDED and row.alert is True
    assert row.submitted_by == operator_a and row.bureau.slug == "bureau-a" and row.params["min_count"] == 3
    assert row.result["count"] >= 3 and row.model_versions == {"object_detector": "1"}

    # The list shows it, and its filters narrow it.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="本部门请求").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("人员聚集预警")
    shoot("09-requests")
    page.get_by_role("combobox", name="告警").select_option("no")
    page.get_by_role("button", name="应用").click()
    expect(page.get_by_text("暂无请求。")).to_be_visible()

    # A refused input comes back as a readable message on the form, and no row is created.
    page.goto(live_server.url + "/catalog/crowd-gathering/")
    page.get_by_label("图片").set_input_files(
        {"name": "not-an-image.jpg", "mimeType": "image/jpeg", "buffer": b"plain text"}
    )
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("不是平台可读取的图片")
    assert InferenceRequest.objects.count() == 1


def test_bureau_a_cannot_open_bureau_b_request(page, live_server, login, shoot, operator_a, operator_b, bureau_b):
    scenario = Scenario.objects.get(slug="crowd-gathering")
    other = InferenceRequest.objects.create(
        bureau=bureau_b, scenario=scenario, submitted_by=operator_b, input_kind="image", input_sha256="0" * 64,
        status=InferenceRequest.Status.SUCCEEDED, alert=False, result={"summary": "B's secret result"},
    )
    login("op_a")
    for path in (f"/requests/{other.id}/", f"/requests/{other.id}/live", f"/requests/{other.id}/annotated.jpg",
                 f"/requests/{other.id}/input"):
        response = page.goto(live_server.url + path)
        assert response.status == 404, path
    page.goto(live_server.url + f"/requests/{other.id}/")
    expect(page.get_by_role("heading", name="未找到")).to_be_visible()
    assert "B's secret result" not in page.content()
    shoot("10-other-bureau-404")
    page.goto(live_server.url + "/requests/")
    assert "B's secret result" not in page.content()

    # Bureau B's own operator sees it.
    page.context.clear_cookies()
    login("op_b")
    response = page.goto(live_server.url + f"/requests/{other.id}/")
    assert response.status == 200
    expect(page.locator("#decision")).to_contain_text("B's secret result")


def test_bureau_manager_keys_members_and_quotas(
    page, live_server, login, shoot, manager_a, operator_a, operator_b, bureau_b
):
    from services.accounts.models import ApiClient, Membership
    from services.accounts.services import api_client_create

    other_key, _ = api_client_create(bureau=bureau_b, name="B's key")
    # Some use today, so that the quota meters have something to show.
    crowd = Scenario.objects.get(slug="crowd-gathering")
    Entitlement.objects.filter(bureau=manager_a.membership.bureau, scenario=crowd).update(daily_quota=50)
    InferenceRequest.objects.bulk_create([
        InferenceRequest(bureau=manager_a.membership.bureau, scenario=crowd, input_kind="image", input_sha256="0" * 64,
                         status=InferenceRequest.Status.SUCCEEDED, compute_ms=150.0)
        for _ in range(12)
    ])
    login("mgr_a")
    page.get_by_role("link", name="本部门管理").click()
    expect(page.get_by_role("heading", name="本部门管理", exact=True)).to_be_visible()
    assert "B's key" not in page.content()

    page.get_by_label("名称").fill("街面视频平台")
    page.get_by_label("范围").select_option(["crowd-gathering"])
    page.get_by_role("button", name="创建密钥").click()
    key = page.locator("#new-key-value").inner_text()
    assert key.startswith("cai_")
    shoot("11-bureau-keys")
    client = ApiClient.objects.get(name="街面视频平台")
    assert client.bureau.slug == "bureau-a" and client.scopes == ["crowd-gathering"] and client.created_by == manager_a
    assert key not in client.key_hash

    # The key is shown once: reloading the page does not show it again.
    page.goto(live_server.url + "/bureau/keys/")
    assert key not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr[data-prefix='{client.prefix}'] button", has_text="吊销").click()
    expect(page.locator(f"tr[data-prefix='{client.prefix}']")).to_contain_text("已吊销")
    client.refresh_from_db()
    assert client.revoked_at is not None

    # Another bureau's key cannot be revoked by id.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/bureau/keys/{other_key.id}/revoke/",
        headers={"X-CSRFToken": csrf, "Referer": live_server.url + "/bureau/keys/"},
    )
    assert response.status == 404
    other_key.refresh_from_db()
    assert other_key.revoked_at is None

    page.get_by_role("link", name="成员与角色").click()
    expect(page.locator("#members")).to_contain_text("op_a")
    page.get_by_label("用户名").fill("op_a2")
    page.get_by_label("初始密码").fill("a-long-enough-passphrase")
    page.get_by_label("再次输入密码").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="添加操作员").click()
    expect(page.locator("#members")).to_contain_text("op_a2")
    assert Membership.objects.get(user__username="op_a2").role == Membership.Role.OPERATOR
    # An existing user of another bureau cannot be pulled in.
    page.get_by_label("用户名").fill("op_b")
    page.get_by_label("初始密码").fill("a-long-enough-passphrase")
    page.get_by_label("再次输入密码").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="添加操作员").click()
    expect(page.locator(".field-error")).to_be_visible()
    assert Membership.objects.get(user__username="op_b").bureau == bureau_b
    shoot("12-bureau-members")

    page.get_by_role("link", name="授权与配额").click()
    row = page.locator("#entitlements tr", has=page.get_by_role("link", name="人员聚集预警", exact=True))
    expect(row).to_contain_text("12 / 50")
    expect(row).to_contain_text("1.8 s / 36000 s")
    shoot("13-bureau-entitlements")

    # Operators do not get the manager pages.
    page.context.clear_cookies()
    login("op_a")
    assert page.goto(live_server.url + "/bureau/keys/").status == 403


def test_system_status_for_auditors(page, live_server, login, shoot, auditor, operator_a, celery_worker):
    login("auditor")
    page.get_by_role("link", name="系统状态").click()
    expect(page.locator("#stat-triton")).to_contain_text("就绪")
    expect(page.locator("#models tr[data-model=object_detector]")).to_contain_text("就绪")
    expect(page.locator("#workers li.mono")).not_to_have_count(0)
    expect(page.locator("#queues tr[data-tier=normal] td.num")).to_have_text(re.compile(r"^\d+$"))
    shoot("14-system-status")
    page.context.clear_cookies()
    login("op_a")
    assert page.goto(live_server.url + "/system/").status == 403
