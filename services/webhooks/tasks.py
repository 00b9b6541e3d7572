"""Celery tasks: thin adapters that take an id and call a service."""

from celery import shared_task

from services.webhooks.services import webhook_deliveries_requeue_due, webhook_delivery_attempt


@shared_task(bind=True, name="services.webhooks.tasks.deliver_webhook", max_retries=None)
def deliver_webhook(self, delivery_id: str) -> None:
    # The number of attempts is bounded by the service (CITYAI_WEBHOOK_MAX_ATTEMPTS), on the row.
    retry_in = webhook_delivery_attempt(delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(name="services.webhooks.tasks.requeue_due_deliveries")
def requeue_due_deliveries() -> int:
    return webhook_deliveries_requeue_due()
