"""The daily quota holds under concurrency: parallel submits on separate database connections
against PostgreSQL's row lock on the entitlement, never more accepted than the quota allows."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from services.accounts.services import api_client_create
from services.catalog.models import Entitlement
from services.inference.models import InferenceRequest
from tests.conftest import _flush_broker

SLUG = "bridge-vibration-anomaly"
PARALLEL = 50
QUOTA = 20


@pytest.fixture
def _clean_broker():
    yield
    # The accepted requests were enqueued on commit; no worker runs here, so drop the messages.
    _flush_broker()


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_submits_against_a_quota_of_twenty(bureau_a, _clean_broker):
    if connection.vendor != "postgresql":
        pytest.skip("the race is only meaningful on PostgreSQL")
    Entitlement.objects.filter(bureau=bureau_a, scenario__slug=SLUG).update(daily_quota=QUOTA)
    _, key = api_client_create(bureau=bureau_a, name="racer")
    barrier = threading.Barrier(PARALLEL)
    # Threads only record what they saw; every assertion runs here, in the main thread, where a
    # failure fails the test (an assert inside a thread would only be reported as a warning).
    results: list[tuple[int, str | None, bool]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        from django.db import connections

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        body = {"scenario": SLUG, "series": [float(i), 1.0, 2.0, 1.0, 3.0, 1.0, 2.0, 1.0]}
        try:
            barrier.wait(timeout=60)
            response = client.post("/api/v1/requests", body, format="json")
            code = response.json()["error"]["code"] if response.status_code != 202 else None
            with lock:
                results.append((response.status_code, code, response.has_header("Retry-After")))
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connections.close_all()  # each thread had its own connection

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not failures, failures
    statuses = [status for status, _, _ in results]
    codes = [code for _, code, _ in results if code is not None]
    assert all(retry_after for status, _, retry_after in results if status != 202), "a 429 without Retry-After"
    assert sorted(statuses) == [202] * QUOTA + [429] * (PARALLEL - QUOTA)
    assert set(codes) == {"quota_exceeded"}
    assert InferenceRequest.objects.filter(bureau=bureau_a, scenario__slug=SLUG).count() == QUOTA
    assert InferenceRequest.objects.count() == QUOTA
