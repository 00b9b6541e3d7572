"""Celery tasks: thin adapters that take an id and call a service."""

from celery import shared_task
from celery.signals import worker_ready

from services.inference.services import inference_request_execute, inference_requests_requeue_stale


@shared_task(bind=True, name="services.inference.tasks.run_inference_request", max_retries=None)
def run_inference_request(self, request_id: str) -> None:
    outcome = inference_request_execute(request_id=request_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task(name="services.inference.tasks.requeue_stale_requests")
def requeue_stale_requests() -> int:
    return inference_requests_requeue_stale()


@worker_ready.connect
def _requeue_on_start(**kwargs) -> None:
    """A worker that starts after a crash picks up what the crash left, without waiting for beat."""
    inference_requests_requeue_stale()
