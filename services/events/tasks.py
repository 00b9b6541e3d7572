from celery import shared_task

from services.events.services import work_orders_mark_overdue


@shared_task(name="services.events.tasks.mark_overdue_work_orders", ignore_result=True)
def mark_overdue_work_orders() -> int:
    return work_orders_mark_overdue()
