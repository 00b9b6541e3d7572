"""The per-client rate limit is counted in the real Redis and answers 429 with Retry-After."""

import time

import pytest
from rest_framework.test import APIClient

from services.accounts.services import api_client_create


@pytest.mark.django_db
def test_a_client_over_its_rate_gets_429(bureau_a, bureau_b):
    client_row, key = api_client_create(bureau=bureau_a, name="chatty script")
    client_row.rate_limit_per_minute = 3
    client_row.save()
    _, other_key = api_client_create(bureau=bureau_b, name="quiet one")
    chatty, quiet = APIClient(), APIClient()
    chatty.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    quiet.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")
    if time.time() % 60 > 55:  # stay inside one one-minute window
        time.sleep(61 - time.time() % 60)

    assert [chatty.get("/api/v1/requests").status_code for _ in range(3)] == [200, 200, 200]
    over = chatty.get("/api/v1/requests")
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "throttled"
    assert 1 <= int(over["Retry-After"]) <= 60
    assert quiet.get("/api/v1/requests").status_code == 200  # another client is not affected
