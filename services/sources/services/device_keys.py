"""Device keys: the secret a pushing source (drone, patrol phone, sensor) sends with its frames.

They are API keys of another kind (``cad_<prefix>_<secret>``, ``accounts.keys``): the prefix finds
the source, only the key's SHA-256 is stored, and a new key replaces the old one at once.
"""

from django.db import transaction

from services.accounts import keys
from services.accounts.selectors import Actor
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.sources.models import Source
from services.sources.services.access import check_can_write

DEVICE_KEY_KIND = "cad"


@transaction.atomic
def source_device_key_issue(*, actor: Actor, source: Source) -> tuple[Source, str]:
    """A new device key, shown once; any earlier key of the source stops working at once."""
    check_can_write(actor, source)
    source = Source.objects.select_for_update().get(pk=source.pk)
    previous = source.key_prefix
    key, source.key_prefix, source.key_hash = keys.generate_key(DEVICE_KEY_KIND)
    source.save(update_fields=["key_prefix", "key_hash", "updated_at"])
    audit_record(
        action=AuditEntry.Action.DEVICE_KEY_ISSUED, actor=actor.label, bureau=source.bureau.slug,
        object_type="source", object_id=source.pk,
        details={"name": source.name, "prefix": source.key_prefix, "replaces": previous or None},
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
    prefix = keys.parse_prefix(key, DEVICE_KEY_KIND)
    if prefix is None:
        return None
    source = Source.objects.select_related("bureau").filter(key_prefix=prefix).first()
    if source is None or not source.key_hash or not keys.key_matches(key, source.key_hash):
        return None
    return source
