"""The state of the shared compute for the system status page: Triton, the queues, the workers.

Each probe has a short timeout and reports "unknown" instead of raising, so the status page still
renders (and says what is down) when a part of the platform is down.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import redis
from celery import current_app
from django.conf import settings

from services.catalog.models import Entitlement
from services.inference import triton

logger = logging.getLogger(__name__)

TIERS = [tier for tier, _label in Entitlement.Tier.choices]
# kombu's Redis transport keeps messages of priority p > 0 in a list named "<queue>\x06\x16<p>".
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


@dataclass
class ModelStatus:
    name: str
    ready: bool | None
    versions: list[str] = field(default_factory=list)
    inference_count: int = 0
    execution_count: int = 0
    success_count: int = 0
    fail_count: int = 0
    avg_compute_ms: float | None = None


def repository_models() -> list[str]:
    """Models the platform ships: the folders of the Triton model repository with a config."""
    root = Path(settings.TRITON_MODEL_REPOSITORY)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.pbtxt").is_file())


def triton_status() -> dict:
    """Server readiness, and per model: readiness and the counters Triton keeps since it loaded."""
    ready = triton.server_ready(timeout_s=2.0)
    stats: dict[str, dict] = {}
    error = ""
    if ready:
        try:
            stats = triton.model_statistics(timeout_s=3.0)
        except triton.TritonError as exc:
            error = str(exc)
    names = sorted(set(repository_models()) | set(stats))
    models = []
    for name in names:
        item = stats.get(name)
        status = ModelStatus(name=name, ready=triton.model_ready(name, timeout_s=1.0) if ready else None)
        if item:
            status.versions = [v for v in item["versions"] if v]
            status.inference_count = item["inference_count"]
            status.execution_count = item["execution_count"]
            status.success_count = item["success_count"]
            status.fail_count = item["fail_count"]
            if item["success_count"]:
                compute = item["compute_input_ms"] + item["compute_infer_ms"] + item["compute_output_ms"]
                status.avg_compute_ms = compute / item["success_count"]
        models.append(status)
    return {"url": settings.TRITON_URL, "ready": ready, "models": models, "error": error}


def _broker() -> redis.Redis:
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis+socket://"):
        url = "unix://" + url[len("redis+socket://"):]
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def queue_depths() -> dict:
    """Messages waiting in each tier's queue (all priority levels); None per tier if Redis is down."""
    try:
        client = _broker()
        with client.pipeline(transaction=False) as pipe:
            for tier in TIERS:
                pipe.llen(tier)
                for step in _PRIORITY_STEPS:
                    pipe.llen(f"{tier}{_PRIORITY_SEPARATOR}{step}")
            lengths = pipe.execute()
        client.close()
    except (redis.RedisError, OSError) as exc:
        logger.warning("queue depths unavailable: %s", exc)
        return {"ok": False, "tiers": [(tier, None) for tier in TIERS], "error": str(exc)}
    per = len(_PRIORITY_STEPS) + 1
    tiers = [(tier, sum(lengths[i * per:(i + 1) * per])) for i, tier in enumerate(TIERS)]
    return {"ok": True, "tiers": tiers, "error": ""}


def workers_online(timeout: float = 1.0) -> dict:
    """Celery workers that answer a broadcast ping within ``timeout`` seconds."""
    try:
        replies = current_app.control.inspect(timeout=timeout).ping() or {}
    except Exception as exc:  # noqa: BLE001 - the broker being down is a state to show, not an error
        logger.warning("worker ping failed: %s", exc)
        return {"ok": False, "workers": [], "error": str(exc)}
    return {"ok": True, "workers": sorted(replies), "error": ""}
