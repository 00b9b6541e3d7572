"""Production settings pass `check --deploy`; the portal sends security headers (with a CSP that its
own pages satisfy); sign-in is throttled; keys and passwords never reach the logs."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from services.accounts.login import login_failures_clear
from services.accounts.services import api_client_create
from services.audit.models import AuditEntry
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "p" * 20 + "roduction-secret-" + "x7Qz!9kL#2mN$4vB&8cR*" * 3,
    "DJANGO_ALLOWED_HOSTS": "cityai.example.gov.cn",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_BEHIND_TLS_PROXY": "true",
}


def test_check_deploy_is_clean_with_production_settings():
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never does.
    env = {**{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}, **PRODUCTION_ENV}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_compose_sets_the_production_security_values():
    import yaml

    env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["environment"]
    for name in ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "DJANGO_SECURE_COOKIES"):
        assert env[name].endswith(":-true}"), name
    assert env["DJANGO_SECURE_HSTS_SECONDS"].endswith(":-31536000}")


@pytest.mark.django_db
def test_pages_carry_security_headers(operator_a):
    client = Client()
    for response in (client.get("/login/"), client.get("/api/v1/requests")):
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
    client.force_login(operator_a)
    page = client.get("/catalog/")
    assert page.status_code == 200 and "Content-Security-Policy" in page


def test_templates_have_no_inline_scripts_or_event_handlers():
    """script-src 'self' would block them: behaviour lives in static/js/."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=\s*[\"']|javascript:", text):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert offenders == []


@pytest.fixture
def login_client():
    login_failures_clear("op_a", None)
    client = Client(REMOTE_ADDR="203.0.113.7")
    yield client
    for address in ("203.0.113.7", "203.0.113.8"):
        login_failures_clear("op_a", type("R", (), {"META": {"REMOTE_ADDR": address}})())


@pytest.mark.django_db
def test_login_is_locked_after_repeated_failures(operator_a, login_client, settings):
    settings.CITYAI_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        response = login_client.post("/login/", {"username": "op_a", "password": "wrong-password"})
        assert response.status_code == 200 and "_auth_user_id" not in login_client.session
    # Now even the right password is refused, with a message saying why and for how long.
    response = login_client.post("/login/", {"username": "op_a", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en")
    assert "_auth_user_id" not in login_client.session
    assert response.context["form"].errors["__all__"][0].startswith("Too many failed sign-ins")
    failed = AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN_FAILED, object_id="op_a").count()
    assert failed == 4
    # The same user from another address is not locked out.
    other = Client(REMOTE_ADDR="203.0.113.8")
    other.post("/login/", {"username": "op_a", "password": PASSWORD})
    assert "_auth_user_id" in other.session


@pytest.mark.django_db
def test_a_successful_login_clears_the_failures(operator_a, login_client, settings):
    settings.CITYAI_LOGIN_MAX_FAILURES = 2
    login_client.post("/login/", {"username": "op_a", "password": "wrong-password"})
    login_client.post("/login/", {"username": "op_a", "password": PASSWORD})
    assert "_auth_user_id" in login_client.session
    login_client.logout()
    login_client.post("/login/", {"username": "op_a", "password": "wrong-password"})
    login_client.post("/login/", {"username": "op_a", "password": PASSWORD})
    assert "_auth_user_id" in login_client.session


@pytest.mark.django_db
def test_no_keys_or_passwords_in_the_logs(bureau_a, operator_a, login_client, caplog):
    from rest_framework.test import APIClient

    _, key = api_client_create(bureau=bureau_a, name="log check")
    secret_part = key.rsplit("_", 1)[-1]
    caplog.set_level(logging.DEBUG)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.post("/api/v1/requests", {"scenario": "environmental-noise-monitoring", "series": [50, 51]},
                    format="json").status_code == 202
    assert api.post("/api/v1/requests", {"scenario": "no-such"}, format="json").status_code >= 400
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}x")
    assert bad.get("/api/v1/requests").status_code == 401
    wrong_password = "Sup3r-secret-wrong-pw"
    login_client.post("/login/", {"username": "op_a", "password": wrong_password})
    login_client.post("/login/", {"username": "op_a", "password": PASSWORD})
    assert caplog.records, "the requests above should have logged something"
    text = "\n".join(f"{r.getMessage()} {r.args!r} {getattr(r, 'request', '')!r}" for r in caplog.records)
    for secret in (key, secret_part, wrong_password, PASSWORD, settings.SECRET_KEY):
        assert secret not in text


@pytest.mark.django_db
def test_api_docs_page_has_no_inline_script_and_its_own_policy():
    """Swagger UI's bundle comes from a CDN: only that page's policy allows it."""
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert "https://cdn.jsdelivr.net" in response["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    assert scripts and all("src=" in attrs for attrs in scripts)
    assert "cdn.jsdelivr.net" not in Client().get("/login/")["Content-Security-Policy"]
