"""Celery tasks: thin adapters that take ids and call a service (which imports no task: work is
enqueued by task name, see services/enqueue.py)."""

from celery import shared_task
from celery.signals import worker_ready


@shared_task(name="services.inference.tasks.drain_requests")
def drain_requests(scenario_id: int, tier: str, counted: bool = False) -> int:
    """Run the due requests of one scenario and tier, a batch at a time."""
    from services.inference.services import inference_requests_drain

    return inference_requests_drain(scenario_id=scenario_id, tier=tier, counted=counted)


@shared_task(bind=True, name="services.inference.tasks.run_inference_request", max_retries=None)
def run_inference_request(self, request_id: str) -> None:
    """One request by id (messages from before drains existed, and explicit reruns)."""
    from services.inference.services import inference_request_execute

    outcome = inference_request_execute(request_id=request_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task(name="services.inference.tasks.requeue_stale_requests")
def requeue_stale_requests() -> int:
    from services.inference.services import inference_requests_requeue_stale

    return inference_requests_requeue_stale()


@worker_ready.connect
def _requeue_on_start(**kwargs) -> None:
    """A worker that starts after a crash picks up what the crash left, without waiting for beat."""
    from services.inference.services import inference_requests_requeue_stale

    inference_requests_requeue_stale()
