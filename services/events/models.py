import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from services.accounts.models import Bureau
from services.catalog.models import RoutingExemplar, Scenario
from services.inference.models import InferenceRequest


class Event(models.Model):
    """A scenario's rule fired for a source: what needs a human decision and, if confirmed, action.

    Visible to the responsible bureau (which reviews it) and to the submitting bureau (whose input
    raised it). Repeated firings from the same source within the merge window are occurrences of
    one event, not new events.
    """

    class Status(models.TextChoices):
        NEW = "new", _("Awaiting review")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")
        DISPATCHED = "dispatched", _("Work order open")
        CLOSED = "closed", _("Closed")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    OPEN = (Status.NEW, Status.CONFIRMED, Status.DISPATCHED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="events")
    bureau = models.ForeignKey(
        Bureau, on_delete=models.PROTECT, related_name="events", help_text="The responsible bureau: it reviews."
    )
    source_bureau = models.ForeignKey(
        Bureau, on_delete=models.PROTECT, related_name="submitted_events", help_text="The bureau that submitted."
    )
    source = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    first_request = models.ForeignKey(InferenceRequest, on_delete=models.PROTECT, related_name="+")
    last_request = models.ForeignKey(InferenceRequest, on_delete=models.PROTECT, related_name="+")
    summary = models.CharField(max_length=500, blank=True)
    excerpt = models.CharField(max_length=500, blank=True, help_text="A short excerpt of a text input.")
    values = models.JSONField(default=dict, blank=True, help_text="Key values copied from the result.")
    occurrence_count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [
            models.Index(fields=["bureau", "status", "-last_seen_at"], name="event_bureau_queue"),
            models.Index(fields=["source_bureau", "-last_seen_at"], name="event_source_bureau"),
            models.Index(fields=["scenario", "source", "status", "-last_seen_at"], name="event_merge_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.scenario_id}:{self.id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class EventOccurrence(models.Model):
    """One firing request of an event. The unique request makes recording idempotent: a second
    ``requests_finished`` for the same request finds the row and does nothing."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="occurrences")
    request = models.OneToOneField(InferenceRequest, on_delete=models.PROTECT, related_name="event_occurrence")
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["seen_at"]

    def __str__(self) -> str:
        return f"{self.event_id} ← {self.request_id}"


class EventReview(models.Model):
    """The responsible bureau's decision on an event; precision is counted from these rows."""

    class Decision(models.TextChoices):
        CONFIRM = "confirm", _("Confirmed")
        DISMISS = "dismiss", _("Dismissed")

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="review")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="event_reviews")
    bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.CharField(max_length=500, blank=True)
    reviewer = models.CharField(max_length=200, help_text="user:<name> or api-client:<prefix>")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reviewed_at"]
        indexes = [models.Index(fields=["scenario", "decision"], name="review_scenario_decision")]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.decision}"


def _photo_path(instance: "WorkOrder", filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"work-orders/{instance.assignee_bureau.slug}/{timezone.now():%Y/%m/%d}/{instance.id}.{ext}"


class WorkOrder(models.Model):
    """Work to do on a confirmed event, dispatched to a bureau with a due time.

    Who acts: the assignee bureau's operators and managers accept and resolve; a manager of the
    dispatching bureau (the event's responsible bureau, which confirmed it) verifies and closes, or
    sends it back. Every transition is a ``WorkOrderTransition`` row and an audit entry.
    """

    class Status(models.TextChoices):
        DISPATCHED = "dispatched", _("Dispatched")
        ACCEPTED = "accepted", _("Accepted")
        RESOLVED = "resolved", _("Resolved, awaiting verification")
        CLOSED = "closed", _("Verified and closed")

    # Overdue means: not resolved by the due time.
    UNRESOLVED = (Status.DISPATCHED, Status.ACCEPTED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="work_order")
    assignee_bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="work_orders")
    dispatcher_bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="dispatched_work_orders")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DISPATCHED)
    instructions = models.CharField(max_length=1000, blank=True)
    due_at = models.DateTimeField()
    overdue_since = models.DateTimeField(null=True, blank=True, help_text="Set by the overdue sweep.")
    dispatched_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    resolution_photo = models.ImageField(upload_to=_photo_path, blank=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["assignee_bureau", "status", "due_at"], name="wo_assignee_board"),
            models.Index(fields=["dispatcher_bureau", "status"], name="wo_dispatcher"),
            models.Index(fields=["status", "due_at"], name="wo_due"),
        ]

    def __str__(self) -> str:
        return f"WO {self.id} ({self.status})"

    @property
    def is_overdue(self) -> bool:
        return self.status in self.UNRESOLVED and self.due_at < timezone.now()


class WorkOrderTransition(models.Model):
    """One step of a work order's history: who moved it from which status to which, when, and why."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.CharField(max_length=200)
    bureau = models.ForeignKey(Bureau, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.work_order_id}: {self.from_status or '-'} → {self.to_status}"


class EventReroute(models.Model):
    """A dispatcher sent a routed complaint to another bureau: the event's responsible bureau changed,
    and the complaint became a routing exemplar of the new bureau (``exemplar``), which is how the
    router learns from its mistakes. One row per re-route, with who and why."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="reroutes")
    from_bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="+")
    to_bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    actor = models.CharField(max_length=200, help_text="user:<name> or api-client:<prefix>")
    actor_bureau = models.ForeignKey(Bureau, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    exemplar = models.ForeignKey(RoutingExemplar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.from_bureau_id} → {self.to_bureau_id}"
