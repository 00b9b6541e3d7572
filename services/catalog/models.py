import hashlib

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


class RoutingTarget(models.Model):
    """A bureau a text-routing scenario may send complaints to, and how routing tells it apart.

    Data a platform admin manages (Django admin, or ``load_catalog`` from the catalog's routing
    data): a district adds its water affairs bureau or a sub-district office by adding a bureau, a
    target and its exemplars, without code. ``domain`` groups bureaus whose topics are alike (the
    eleven sub-district offices handle the same kinds of community affairs); within a domain,
    ``places`` — communities, villages, landmarks of the bureau's area — decide which office a
    complaint that names one of them belongs to, since a sentence encoder hardly tells 坂田 from 布吉.
    """

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="routing_targets")
    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="routing_targets")
    domain = models.SlugField(max_length=64, help_text="Bureaus with alike topics share a domain.")
    places = models.JSONField(
        default=list, blank=True,
        help_text="Place names of the bureau's area (list of strings); a complaint naming one goes to this "
        "bureau rather than another of its domain.",
    )
    enabled = models.BooleanField(default=True, help_text="Disabled targets get no complaints and no training.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scenario", "domain", "bureau__slug"]
        constraints = [models.UniqueConstraint(fields=["scenario", "bureau"], name="routing_target_unique")]

    def __str__(self) -> str:
        return f"{self.scenario.slug} → {self.bureau.slug} ({self.domain})"


class RoutingExemplar(models.Model):
    """A labelled example for a text-routing scenario (12345 complaints): this text belongs to that
    bureau. Seeded from catalog data; platform admins add more, and a dispatcher's re-route of a
    complaint adds one (``origin`` reroute), which is how routing learns.

    The sentence embedding is kept on the row (``embedding``, float32, with the encoder version that
    made it), so retraining after one new exemplar embeds one text, not all of them."""

    class Origin(models.TextChoices):
        CATALOG = "catalog", _("Catalog data")
        ADMIN = "admin", _("Added by an admin")
        REROUTE = "reroute", _("Dispatcher re-route")

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="routing_exemplars")
    target_bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64, editable=False)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.ADMIN)
    added_by = models.ForeignKey(
        Bureau, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The bureau that contributed it; empty for catalog data.",
    )
    note = models.CharField(max_length=500, blank=True, help_text="Why it was added (a re-route's reason).")
    source_request = models.UUIDField(null=True, blank=True, help_text="The request a re-route corrected.")
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    embedding_version = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scenario", "target_bureau", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "target_bureau", "text_sha256"], name="exemplar_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scenario.slug} → {self.target_bureau.slug}: {self.text[:30]}"

    def save(self, *args, **kwargs):
        self.text = self.text.strip()
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        if digest != self.text_sha256:
            self.text_sha256 = digest
            self.embedding, self.embedding_version = None, ""
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "text_sha256", "embedding", "embedding_version"}
        super().save(*args, **kwargs)


class RoutingClassifier(models.Model):
    """A classifier trained on the sentence embeddings of a scenario's exemplars (multinomial
    logistic regression), written by the routing trainer whenever the exemplars or targets change.

    ``fingerprint`` hashes what it was trained on (targets, exemplar texts and labels, encoder
    version); the pipeline uses the newest row whose fingerprint matches the current data and trains
    a new one when none does, so a change is never routed with a stale model. The weights are small
    (classes × 512 float32) and live in the row, so every worker reads the same model."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="routing_classifiers")
    fingerprint = models.CharField(max_length=64)
    classes = models.JSONField(help_text="Bureau slugs, in the order of the weight rows.")
    weights = models.BinaryField(help_text="float32 [classes, dims] then float32 [classes] intercepts.")
    dims = models.PositiveIntegerField()
    encoder_version = models.CharField(max_length=32)
    exemplars = models.PositiveIntegerField()
    regularization = models.FloatField(help_text="Inverse regularisation strength C.")
    cv_top1 = models.FloatField(null=True, blank=True, help_text="Cross-validated top-1 on the exemplars.")
    trained_by = models.CharField(max_length=200)
    train_seconds = models.FloatField(default=0)
    trained_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-trained_at"]
        get_latest_by = "trained_at"
        constraints = [
            models.UniqueConstraint(fields=["scenario", "fingerprint"], name="routing_classifier_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scenario.slug} classifier {self.fingerprint[:8]} ({self.exemplars} exemplars)"
