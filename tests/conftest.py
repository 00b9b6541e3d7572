"""Shared fixtures: two bureaus (A and B) with operators, an auditor, API clients, the catalog,
and — for integration tests — a real Triton server and real Celery workers."""

import os
from pathlib import Path

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from services.accounts.models import Bureau, Membership
from services.accounts.services import api_client_create, bureau_upsert, member_upsert
from services.catalog.models import Scenario
from services.catalog.services import catalog_load, entitlement_upsert
from services.inference.tritonserver import LocalTritonServer, free_port
from tests.processes import WorkerProcess

pytest_plugins = ["tests.browser"]

DATA = Path(__file__).resolve().parent / "data"
PASSWORD = "test-password-123"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(settings.BASE_DIR) / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session", autouse=True)
def _media_root(tmp_path_factory):
    """Inputs and results go to a temporary folder that the worker processes share."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Each test reads configuration from its own database state, not from an earlier test's cache."""
    from services.core import configcache
    from services.core.redis import get_redis

    configcache.clear()
    # Quota counters are keyed by entitlement id, drain counts by scenario id, which a new test
    # database hands out again.
    client = get_redis()
    keys = list(client.scan_iter("cityai:quota:*")) + list(client.scan_iter("cityai:drains:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session")
def triton_server(artifacts_dir, tmp_path_factory):
    """A real tritonserver (from the nvidia-pytriton wheel) on free loopback ports; yields its gRPC URL."""
    settings.TRITON_BYOM_REPOSITORY = tmp_path_factory.mktemp("byom-models")
    # While developing one model, CITYAI_TEST_TRITON_MODELS=ocr,object_detector loads only those.
    only = [m for m in os.environ.get("CITYAI_TEST_TRITON_MODELS", "").split(",") if m]
    server = LocalTritonServer(
        settings.TRITON_MODEL_REPOSITORY,
        models=only or None,
        extra_repositories=[settings.TRITON_BYOM_REPOSITORY],
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        log_path=artifacts_dir / "tritonserver.log",
    )
    with server:
        settings.TRITON_URL = server.grpc_url
        yield server


@pytest.fixture
def triton_url(triton_server) -> str:
    return triton_server.grpc_url


def _flush_broker() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL.replace("redis+socket://", "unix://")).flushdb()


@pytest.fixture(scope="module")
def worker_factory(request, django_db_setup, triton_server, artifacts_dir):
    """Start real Celery workers on the test database; every one is stopped after the module."""
    started: list[WorkerProcess] = []
    _flush_broker()

    def start(**kwargs) -> WorkerProcess:
        log = artifacts_dir / f"worker-{request.module.__name__.rsplit('.', 1)[-1]}-{len(started)}.log"
        worker = WorkerProcess(triton_server.grpc_url, log, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    _flush_broker()


@pytest.fixture(scope="module")
def celery_worker(worker_factory) -> WorkerProcess:
    return worker_factory()


@pytest.fixture
def catalog(db):
    catalog_load()
    return Scenario.objects.all()


def _bureau(slug: str, name: str) -> Bureau:
    bureau = bureau_upsert(slug=slug, name_zh=name, name_en=name)
    for scenario in Scenario.objects.filter(status=Scenario.Status.ACTIVE):
        entitlement_upsert(bureau=bureau, scenario=scenario)
    return bureau


@pytest.fixture
def bureau_a(catalog) -> Bureau:
    return _bureau("bureau-a", "甲局")


@pytest.fixture
def bureau_b(catalog) -> Bureau:
    return _bureau("bureau-b", "乙局")


@pytest.fixture
def operator_a(bureau_a):
    return member_upsert(bureau=bureau_a, username="op_a", password=PASSWORD, role=Membership.Role.OPERATOR).user


@pytest.fixture
def operator_b(bureau_b):
    return member_upsert(bureau=bureau_b, username="op_b", password=PASSWORD, role=Membership.Role.OPERATOR).user


@pytest.fixture
def auditor(catalog):
    office = bureau_upsert(slug="audit-office", name_zh="审计局", name_en="Audit office")
    return member_upsert(bureau=office, username="auditor", password=PASSWORD, role=Membership.Role.AUDITOR).user


@pytest.fixture
def api_a(bureau_a) -> APIClient:
    """An API client of bureau A, authenticated with a real department key."""
    _, key = api_client_create(bureau=bureau_a, name="dept A")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def api_b(bureau_b) -> APIClient:
    _, key = api_client_create(bureau=bureau_b, name="dept B")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def api_auditor(auditor) -> APIClient:
    client = APIClient()
    client.force_login(auditor)
    return client


@pytest.fixture
def run_scenario(triton_url, bureau_a, operator_a):
    """Run one scenario request in this process through the real services and the real Triton
    (no worker: the request is submitted, then executed here). Returns the finished row."""
    from services.accounts.selectors import Actor
    from services.inference import inputs
    from services.inference.models import InferenceRequest
    from services.inference.services import inference_request_execute, inference_request_submit

    actor = Actor(bureau=bureau_a, role=Membership.Role.OPERATOR, user=operator_a)

    def run(
        slug: str, *, image=None, text=None, series=None, audio=None, params=None, source: str = "", at=None
    ) -> InferenceRequest:
        """``source`` names the camera or device; ``at`` (a datetime) backdates the request, so that
        multi-frame rules see a sequence of frames minutes apart."""
        if image is not None:
            checked = inputs.check_image(image)
        elif audio is not None:
            checked = inputs.check_audio(audio)
        elif text is not None:
            checked = inputs.check_text(text)
        else:
            checked = inputs.check_series(series)
        request, _ = inference_request_submit(
            actor=actor, scenario_slug=slug, checked=checked, params=params, source=source
        )
        if at is not None:
            InferenceRequest.objects.filter(pk=request.pk).update(created_at=at, captured_at=at)
        inference_request_execute(request_id=request.pk)
        request.refresh_from_db()
        return request

    return run
