import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from services.accounts.models import ApiClient, Bureau
from services.catalog.models import Entitlement, Scenario


def _input_path(instance: "InferenceRequest", filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    day = instance.created_at or timezone.now()
    return f"inputs/{instance.bureau.slug}/{day:%Y/%m/%d}/{instance.id}.{ext}"


def _annotated_path(instance: "InferenceRequest", filename: str) -> str:
    day = instance.created_at or timezone.now()
    return f"results/{instance.bureau.slug}/{day:%Y/%m/%d}/{instance.id}.jpg"


class InferenceRequest(models.Model):
    """One scenario request and its whole record: input, status, timings, models, result, error."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    TERMINAL = (Status.SUCCEEDED, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="inference_requests")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="inference_requests")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_client = models.ForeignKey(ApiClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # NULL, not "", for "no key": the unique constraint must ignore requests without one.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    source = models.CharField(
        max_length=200, blank=True, help_text="Where the input came from (camera, device, hotline); multi-frame "
        "rules compare a request with earlier ones from the same source."
    )

    captured_at = models.DateTimeField(
        default=timezone.now, help_text="When the input was captured (a camera frame's time, given by the source or "
        "the caller; else the submit time). Multi-frame rules use it as the request's 'now'."
    )

    input_kind = models.CharField(max_length=16, choices=Scenario.InputKind.choices)
    input_file = models.FileField(upload_to=_input_path, blank=True)
    input_data = models.JSONField(null=True, blank=True, help_text="Text or series inputs.")
    input_name = models.CharField(max_length=255, blank=True)
    input_content_type = models.CharField(max_length=100, blank=True)
    input_sha256 = models.CharField(max_length=64)
    input_bytes = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    tier = models.CharField(max_length=8, choices=Entitlement.Tier.choices, default=Entitlement.Tier.NORMAL)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When the queued message is due.")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queue_ms = models.FloatField(null=True, blank=True)
    compute_ms = models.FloatField(null=True, blank=True, help_text="Triton compute time, all model calls.")
    total_ms = models.FloatField(null=True, blank=True)
    model_calls = models.JSONField(default=list, blank=True)

    result = models.JSONField(null=True, blank=True)
    alert = models.BooleanField(null=True, blank=True)
    annotated_image = models.FileField(upload_to=_annotated_path, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["bureau", "-created_at"], name="request_bureau_recent"),
            models.Index(fields=["bureau", "scenario", "created_at"], name="request_bureau_scenario_day"),
            models.Index(fields=["status", "next_attempt_at"], name="request_status_due"),
            # The submit path counts a bureau's waiting work: a small index of only the waiting rows.
            models.Index(fields=["bureau", "tier"], name="request_waiting",
                         condition=models.Q(status__in=["queued", "running"])),
            models.Index(fields=["bureau", "scenario", "source", "-captured_at"], name="request_source_history"),
            # Workers claim the due rows of one scenario and tier in one statement (a drain).
            models.Index(fields=["scenario", "tier", "next_attempt_at"], name="request_queued_due",
                         condition=models.Q(status="queued")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["bureau", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="request_idempotency_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scenario_id}:{self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def model_versions(self) -> dict[str, str]:
        return {call["model"]: call["version"] for call in self.model_calls}


class UploadedModel(models.Model):
    """A bureau-supplied ONNX model a platform admin put in service for a scenario; the record of
    what was uploaded, by whom, under which licence."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="uploaded_models")
    triton_name = models.CharField(max_length=100)
    onnx_sha256 = models.CharField(max_length=64)
    onnx_bytes = models.PositiveBigIntegerField()
    labels = models.JSONField()
    preprocess = models.JSONField()
    licence = models.TextField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.triton_name} for {self.scenario_id}"
