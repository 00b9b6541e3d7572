"""Usage aggregates: one row per day × bureau × scenario, kept current as requests finish.

Reports read only these rows (a month is at most days × bureaus × scenarios rows, whatever the
number of requests); ``rebuild_usage`` recomputes them from the request rows for backfill and for
checking.
"""

from django.db import models
from django.db.models.functions import Now

from services.accounts.models import Bureau
from services.catalog.models import Scenario
from services.inference.models import InferenceRequest
from services.reports import metering


class UsageDaily(models.Model):
    """Finished requests of one bureau and scenario on one day (the local day of submission, so
    that a day's figures sit beside its daily quota).

    ``requests`` = ``succeeded`` + ``failed``. ``compute_ms``, ``queue_ms`` and ``input_bytes`` sum
    over all finished requests (a failed request may still have used the GPU). ``latency_ms`` and
    ``latency_hist`` cover succeeded requests only: the latency of an answer, not of an error.
    ``alerts`` counts succeeded requests whose rule fired.
    """

    day = models.DateField()
    bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="+")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="+")
    requests = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    compute_ms = models.FloatField(default=0, help_text="Triton compute time, all model calls.")
    queue_ms = models.FloatField(default=0)
    latency_ms = models.FloatField(default=0, help_text="Sum of total_ms of succeeded requests.")
    input_bytes = models.BigIntegerField(default=0)
    latency_hist = models.JSONField(default=metering.empty, help_text="Counts per metering.EDGES_MS bucket.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day", "bureau", "scenario"]
        constraints = [
            models.UniqueConstraint(fields=["day", "bureau", "scenario"], name="usage_daily_unique"),
        ]
        indexes = [models.Index(fields=["bureau", "day"], name="usage_bureau_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.bureau_id} {self.scenario_id}: {self.requests}"


class MeteredRequest(models.Model):
    """Marks a request as counted, so that a second ``requests_finished`` (or a catch-up run, or a
    rebuild racing the signal) never counts it twice. A separate table because inference's
    request row is not ours to change."""

    request = models.OneToOneField(
        InferenceRequest, primary_key=True, on_delete=models.CASCADE, related_name="meter_mark"
    )
    metered_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return str(self.request_id)
