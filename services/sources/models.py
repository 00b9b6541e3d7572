import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from services.accounts.models import Bureau
from services.catalog.models import Scenario
from services.inference.models import InferenceRequest


def _frame_path(instance: "Source", filename: str) -> str:
    # One file per source, overwritten by each pull: the portal shows the latest frame, the request
    # rows keep their own copies of every frame that was analysed.
    return f"sources/{instance.bureau.slug}/{instance.id}.jpg"


class Source(models.Model):
    """A camera, drone, patrol phone or sensor of one bureau: pulled on a schedule or pushing itself.

    The device key (for push sources) is kept as a SHA-256 only, like API client keys; the prefix
    finds the row.
    """

    class Kind(models.TextChoices):
        CAMERA = "camera", _("Camera")
        DRONE = "drone", _("Drone")
        PATROL_PHONE = "patrol_phone", _("Patrol phone")
        SENSOR = "sensor", _("Sensor")

    class Mode(models.TextChoices):
        PULL = "pull", _("Pulled by the platform")
        PUSH = "push", _("Pushes to the platform")

    class Status(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        ONLINE = "online", _("Online")
        OFFLINE = "offline", _("Offline")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CAMERA)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.PULL)
    url = models.CharField(
        max_length=500, blank=True,
        help_text="http(s):// snapshot or MJPEG stream, rtsp:// stream or file:/// video; blank for push sources.",
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    address = models.CharField(max_length=300, blank=True)
    zones = models.JSONField(
        default=list, blank=True, help_text='[{"name": str, "polygon": [[x, y], ...]}] with 0..1 coordinates.'
    )
    enabled = models.BooleanField(default=True)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.UNKNOWN)
    last_error = models.TextField(blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_frame = models.ImageField(upload_to=_frame_path, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_pull_at = models.DateTimeField(null=True, blank=True)
    frame_position = models.PositiveIntegerField(
        default=0, help_text="Next frame of a video file source, so the video plays over pulls."
    )

    key_prefix = models.CharField(max_length=16, blank=True)
    key_hash = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bureau", "name"]
        constraints = [
            # Blank for sources that never had a key; unique otherwise, since the prefix finds the row.
            models.UniqueConstraint(
                fields=["key_prefix"], condition=~models.Q(key_prefix=""), name="source_key_prefix_unique"
            ),
        ]
        indexes = [models.Index(fields=["mode", "enabled", "next_pull_at"], name="source_pull_due")]

    def __str__(self) -> str:
        return f"{self.name} ({self.bureau.slug})"

    @property
    def request_source(self) -> str:
        """The string written to InferenceRequest.source and Event.source for this source."""
        return f"source:{self.id}"

    @property
    def has_device_key(self) -> bool:
        return bool(self.key_hash)

    def zone(self, name: str) -> dict | None:
        return next((z for z in self.zones or [] if z.get("name") == name), None)


class Binding(models.Model):
    """A scenario that runs on a source, with its parameters and how often."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="bindings")
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="+")
    params = models.JSONField(default=dict, blank=True)
    zone_name = models.CharField(max_length=100, blank=True, help_text="Injected as params['zone'] on submit.")
    interval_s = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_request = models.ForeignKey(
        InferenceRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(interval_s__gte=5), name="binding_interval_min")]

    def __str__(self) -> str:
        return f"{self.scenario_id} on {self.source_id} every {self.interval_s}s"
