"""Celery tasks: thin adapters that take an id and call a service (routed to the "sources" queue)."""

from celery import shared_task

from services.sources.services import source_pull, sources_mark_silent, sources_schedule_due


@shared_task(name="services.sources.tasks.schedule_due_sources")
def schedule_due_sources() -> int:
    return sources_schedule_due()


@shared_task(name="services.sources.tasks.mark_silent_sources")
def mark_silent_sources() -> int:
    return sources_mark_silent()


# Not acks_late: a pull lost with its worker is claimed again when its lease passes, whereas a
# redelivered pull would take a second frame and submit it twice.
@shared_task(name="services.sources.tasks.pull_source", acks_late=False)
def pull_source(source_id: str) -> dict:
    outcome = source_pull(source_id=source_id)
    return {"ok": outcome.ok, "error": outcome.error, "requests": [str(r.pk) for r in outcome.requests],
            "refused": outcome.refused}
