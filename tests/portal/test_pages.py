"""Portal pages without a browser: access rules per role, and reading CSV series from the form."""

import pytest
from django.contrib.auth import get_user_model

from services.core.errors import ApplicationError
from services.inference.forms import parse_csv_series, parse_series_text


def test_csv_series_single_column_without_header():
    assert parse_csv_series("1\n2.5\n-3\n") == [1.0, 2.5, -3.0]


def test_csv_series_named_channels_skip_time_and_text_columns():
    text = "time,station,pm25,no2\n2026-01-01 00:00,A,35,40\n2026-01-01 01:00,A,80,41\n"
    assert parse_csv_series(text) == {"pm25": [35.0, 80.0], "no2": [40.0, 41.0]}


def test_csv_series_refuses_a_gap_with_its_place():
    with pytest.raises(ApplicationError, match="Row 3, column 'pm25'"):
        parse_csv_series("pm25\n1\n\u00a0x\n")


def test_pasted_series_json_or_csv():
    assert parse_series_text("[1, 2]") == [1, 2]
    assert parse_series_text('{"a": [1]}') == {"a": [1]}
    assert parse_series_text("a,b\n1,2\n") == {"a": [1.0], "b": [2.0]}


@pytest.mark.django_db
def test_pages_by_role(client, operator_a, auditor):
    client.force_login(operator_a)
    assert client.get("/catalog/").status_code == 200
    assert client.get("/catalog/crowd-gathering/").status_code == 200
    assert client.get("/catalog/crowd-gathering/example")["Content-Type"] == "image/jpeg"
    assert client.get("/catalog/models/object_detector/licence/").status_code == 200
    assert client.get("/catalog/models/..%2Fsecret/licence/").status_code == 404
    assert client.get("/requests/").status_code == 200
    assert client.get("/bureau/keys/").status_code == 403
    assert client.get("/system/").status_code == 403

    client.force_login(auditor)
    page = client.get("/catalog/crowd-gathering/").content.decode()
    assert "不能提交请求" in page  # auditors read the catalog but do not submit
    assert client.post("/requests/new/crowd-gathering/").status_code == 403


@pytest.mark.django_db
def test_superuser_without_bureau_has_no_bureau_pages(client, catalog):
    admin = get_user_model().objects.create_superuser("root", password="x-long-password-1")
    client.force_login(admin)
    assert client.get("/").status_code == 200
    assert client.get("/bureau/keys/").status_code == 403
    assert client.get("/bureau/entitlements/").status_code == 403
