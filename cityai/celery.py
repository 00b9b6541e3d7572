"""The Celery app, configured from Django settings (``CELERY_`` namespace)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityai.settings")

app = Celery("cityai")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**kwargs) -> None:
    """What Django does around each web request: drop this thread's connections that failed or
    outlived DATABASE_CONN_MAX_AGE, keep the rest (see CELERY_DB_REUSE_MAX in settings)."""
    from django.db import close_old_connections

    close_old_connections()
