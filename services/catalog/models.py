from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from services.accounts.models import Bureau


class BilingualMixin:
    """Pick the zh-Hans or English text of a field for the active language."""

    def localized(self, field: str) -> str:
        lang = (get_language() or "zh-hans").lower()
        suffix = "zh" if lang.startswith("zh") else "en"
        return getattr(self, f"{field}_{suffix}") or getattr(self, f"{field}_zh")


class Domain(BilingualMixin, models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.name_en

    @property
    def name(self) -> str:
        return self.localized("name")


class Scenario(BilingualMixin, models.Model):
    """A governance scenario: shared models plus a rule family (pipeline) and its parameters."""

    class InputKind(models.TextChoices):
        IMAGE = "image", _("Image")
        TEXT = "text", _("Text")
        SERIES = "series", _("Sensor series")
        AUDIO = "audio", _("Audio")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Working")
        MODEL_NEEDED = "model_needed", _("Model needed")
        DISABLED = "disabled", _("Disabled")

    slug = models.SlugField(max_length=80, unique=True)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="scenarios")
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    description_zh = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    method_zh = models.TextField(blank=True)
    method_en = models.TextField(blank=True)
    owner_bureau = models.ForeignKey(Bureau, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    input_kind = models.CharField(max_length=16, choices=InputKind.choices)
    pipeline = models.CharField(max_length=64, help_text="Name of the rule family that runs this scenario.")
    model_names = models.JSONField(default=list, blank=True, help_text="Triton models the pipeline calls.")
    params_schema = models.JSONField(default=dict, blank=True)
    example_input = models.CharField(max_length=200, blank=True, help_text="File in catalog/data/examples.")
    example_params = models.JSONField(default=dict, blank=True, help_text="Params that suit the example input.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    custom_model = models.CharField(
        max_length=100, blank=True,
        help_text="Triton model a platform admin uploaded for this scenario; the catalog loader then leaves "
        "its status, pipeline, models and params alone.",
    )
    order = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["domain__order", "order", "slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def name(self) -> str:
        return self.localized("name")

    @property
    def description(self) -> str:
        return self.localized("description")

    @property
    def method(self) -> str:
        return self.localized("method")

    @property
    def is_working(self) -> bool:
        return self.status == self.Status.ACTIVE


class Entitlement(models.Model):
    """What a bureau may run: one row per bureau × scenario, with its quota and priority tier.

    It lives in the catalog (not accounts) because it points at scenarios, and dependencies only
    point one way: accounts ← catalog.
    """

    class Tier(models.TextChoices):
        HIGH = "high", _("High")
        NORMAL = "normal", _("Normal")
        BULK = "bulk", _("Bulk")

    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="entitlements")
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="entitlements")
    enabled = models.BooleanField(default=True)
    daily_quota = models.PositiveIntegerField(default=1000)
    monthly_compute_budget_s = models.PositiveIntegerField(default=36_000)
    tier = models.CharField(max_length=8, choices=Tier.choices, default=Tier.NORMAL)
    # Today's accepted requests, counted by the submit path's quota reservation (one conditional
    # UPDATE instead of a row lock held while each request is stored); recounted from the request
    # rows on the first submit of each day.
    quota_day = models.DateField(null=True, blank=True, editable=False)
    quota_used = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bureau", "scenario"], name="entitlement_unique")]

    def __str__(self) -> str:
        return f"{self.bureau.slug} × {self.scenario.slug}"


class RoutingExemplar(models.Model):
    """A labelled example for a text-routing scenario (12345 complaints): this text belongs to that
    bureau. Seeded from catalog data; bureaus add their own, which is how routing learns."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="routing_exemplars")
    target_bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    added_by = models.ForeignKey(
        Bureau, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The bureau that contributed it; empty for catalog data.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scenario", "target_bureau", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "target_bureau", "text_sha256"], name="exemplar_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scenario.slug} → {self.target_bureau.slug}: {self.text[:30]}"
