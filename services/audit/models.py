"""The append-only audit log.

Entries name their actor and bureau as text (labels and slugs), not foreign keys: ``audit`` sits
below ``accounts`` in the dependency order, and an audit row must outlive the user, key or bureau
it mentions (a cascade could never delete it anyway; the database refuses deletes).
"""

import json

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One audited action, chained to the previous entry by ``prev_hash``.

    ``hash`` is SHA-256 over a canonical JSON of the content fields and ``prev_hash`` (see
    ``services.audit.chain``), so changing, removing or inserting a row breaks the chain from there
    on. On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE (migration 0002).
    """

    class Action(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGOUT = "logout", _("Logout")
        ROLE_CHANGED = "role_changed", _("Role changed")
        API_KEY_CREATED = "api_key_created", _("API key created")
        API_KEY_REVOKED = "api_key_revoked", _("API key revoked")
        ENTITLEMENT_CHANGED = "entitlement_changed", _("Entitlement changed")
        CATALOG_CHANGED = "catalog_changed", _("Catalog changed")
        REQUEST_VIEWED = "request_viewed", _("Request result viewed")
        EXPORT = "export", _("Export")
        REVIEW = "review", _("Event review")
        WORK_ORDER = "work_order", _("Work order")
        AUDIT_VERIFIED = "audit_verified", _("Audit chain verified")
        SOURCE_CHANGED = "source_changed", _("Source or binding changed")
        DEVICE_KEY_ISSUED = "device_key_issued", _("Device key issued")
        DEVICE_KEY_REVOKED = "device_key_revoked", _("Device key revoked")

    seq = models.BigIntegerField(unique=True, help_text="Position in the chain: 1, 2, 3, … without gaps.")
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=200, help_text="user:<name>, api-client:<prefix>, system or command:<name>")
    bureau = models.CharField(max_length=64, blank=True, db_index=True, help_text="Slug of the actor's bureau.")
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=200, blank=True)
    # Canonical JSON text, not jsonb: jsonb rewrites numbers (1e20 comes back as an integer), and the
    # hash must cover exactly what is stored.
    details = models.TextField(default="{}", blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor}"

    @property
    def details_data(self) -> dict:
        try:
            return json.loads(self.details or "{}")
        except ValueError:
            return {"unreadable": self.details}


class AuditChainHead(models.Model):
    """The chain's tail (one row, pk 1). Appending locks it, so two appends can never both build
    on the same predecessor; ``verify_audit`` also checks that it matches the last entry, which
    is how a deleted tail is found."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class AuditCheck(models.Model):
    """The outcome of one verification of the chain, so the auditor page can show the chain's
    status without re-hashing every entry on each view."""

    checked_at = models.DateTimeField(auto_now_add=True)
    by = models.CharField(max_length=200)
    ok = models.BooleanField()
    entries = models.BigIntegerField(default=0)
    head_seq = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, blank=True)
    first_broken_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    duration_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'BROKEN'}"
