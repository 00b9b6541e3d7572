"""Beat tasks: count what the signal missed."""

from celery import shared_task

from services.reports.services import usage_meter_missed


@shared_task(name="services.reports.tasks.meter_missed_requests")
def meter_missed_requests() -> int:
    return usage_meter_missed()
