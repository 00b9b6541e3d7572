import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Bureau(models.Model):
    """A tenant of the shared platform: a district bureau or an outside organisation."""

    class Kind(models.TextChoices):
        BUREAU = "bureau", _("District bureau")
        ENTERPRISE = "enterprise", _("Enterprise")
        UNIVERSITY = "university", _("University")
        INSTITUTE = "institute", _("Research institute")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BUREAU)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.slug})"

    @property
    def name(self) -> str:
        """The name in the active language, so that pages follow the language switch (zh-Hans first)."""
        if (get_language() or "zh-hans").lower().startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh


class Membership(models.Model):
    """A user's one bureau and role; the role decides what the user may do there."""

    class Role(models.TextChoices):
        OPERATOR = "operator", _("Operator")
        MANAGER = "manager", _("Bureau manager")
        AUDITOR = "auditor", _("Auditor")
        PLATFORM_ADMIN = "platform_admin", _("Platform admin")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OPERATOR)

    def __str__(self) -> str:
        return f"{self.user} @ {self.bureau.slug} ({self.role})"


class ApiClient(models.Model):
    """A department's API key. Only a SHA-256 of the key is kept; the prefix finds the row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="api_clients")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list, blank=True, help_text="Scenario slugs; empty means all entitled.")
    rate_limit_per_minute = models.PositiveIntegerField(default=600, help_text="API calls a minute; 0 = none.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["bureau", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def allows(self, scenario_slug: str) -> bool:
        return not self.scopes or scenario_slug in self.scopes
