"""Device keys: the secret a pushing source (drone, patrol phone, sensor) sends with its frames."""

import hashlib
import hmac
import secrets

from django.db import transaction

from services.accounts.selectors import Actor
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.sources.models import Source
from services.sources.services.access import check_can_write

DEVICE_KEY_PREFIX = "cad"


def _hash_key(key: str) -> str:
    # A plain SHA-256 suffices, as for API keys: the secret is random and long.
    return hashlib.sha256(key.encode()).hexdigest()


def parse_device_prefix(key: str) -> str | None:
    parts = (key or "").split("_", 2)
    if len(parts) != 3 or parts[0] != DEVICE_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


@transaction.atomic
def source_device_key_issue(*, actor: Actor, source: Source) -> tuple[Source, str]:
    """A new device key, shown once; any earlier key of the source stops working at once."""
    check_can_write(actor, source)
    source = Source.objects.select_for_update().get(pk=source.pk)
    previous = source.key_prefix
    prefix = secrets.token_hex(4)
    key = f"{DEVICE_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    source.key_prefix, source.key_hash = prefix, _hash_key(key)
    source.save(update_fields=["key_prefix", "key_hash", "updated_at"])
    audit_record(
        action=AuditEntry.Action.DEVICE_KEY_ISSUED, actor=actor.label, bureau=source.bureau.slug,
        object_type="source", object_id=source.pk,
        details={"name": source.name, "prefix": prefix, "replaces": previous or None},
    )
    return source, key


@transaction.atomic
def source_device_key_revoke(*, actor: Actor, source: Source) -> Source:
    check_can_write(actor, source)
    source = Source.objects.select_for_update().get(pk=source.pk)
    if source.key_hash:
        previous = source.key_prefix
        source.key_prefix, source.key_hash = "", ""
        source.save(update_fields=["key_prefix", "key_hash", "updated_at"])
        audit_record(
            action=AuditEntry.Action.DEVICE_KEY_REVOKED, actor=actor.label, bureau=source.bureau.slug,
            object_type="source", object_id=source.pk, details={"name": source.name, "prefix": previous},
        )
    return source


def source_for_device_key(*, key: str) -> Source | None:
    """The source a device key belongs to, or None (unknown, malformed or replaced key)."""
    prefix = parse_device_prefix(key)
    if prefix is None:
        return None
    source = Source.objects.select_related("bureau").filter(key_prefix=prefix).first()
    if source is None or not source.key_hash or not hmac.compare_digest(_hash_key(key), source.key_hash):
        return None
    return source
