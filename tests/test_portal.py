"""Portal basics: login, the landing page in both languages, the API schema and docs."""

import pytest

from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_login_page_and_redirect(client):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    page = client.get("/login/")
    assert page.status_code == 200 and "登录" in page.content.decode()


@pytest.mark.django_db
def test_operator_logs_in_and_sees_the_catalog(client, operator_a):
    response = client.post("/login/", {"username": "op_a", "password": PASSWORD})
    assert response.status_code == 302
    home = client.get("/")
    text = home.content.decode()
    assert home.status_code == 200
    assert "人员聚集预警" in text and "甲局" in text and "场景目录" in text


@pytest.mark.django_db
def test_language_switch_to_english(client, operator_a):
    client.post("/login/", {"username": "op_a", "password": PASSWORD})
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = client.get("/").content.decode()
    assert "Crowd gathering" in text and "Scenarios" in text


@pytest.mark.django_db
def test_wrong_password_is_refused(client, operator_a):
    response = client.post("/login/", {"username": "op_a", "password": "nope"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_openapi_schema_and_swagger(client, operator_a):
    client.force_login(operator_a)
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    body = schema.json()
    assert {"/api/v1/requests", "/api/v1/requests/{request_id}", "/api/v1/scenarios"} <= set(body["paths"])
    assert body["components"]["securitySchemes"]["ApiKeyAuth"]["type"] == "apiKey"
    assert client.get("/api/v1/docs").status_code == 200
