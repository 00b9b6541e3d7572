"""Who may change a source, and the audit entry every change leaves."""

from decimal import Decimal
from typing import Any

from services.accounts.models import Membership
from services.accounts.selectors import Actor
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.core.errors import NotFound, PermissionDenied
from services.sources import grabbers
from services.sources.models import Source

Role = Membership.Role


def can_write(actor: Actor, source: Source) -> bool:
    """Managers of the owning bureau (not its API clients) and platform admins change a source and its
    bindings; operators and auditors read."""
    if actor.role == Role.PLATFORM_ADMIN:
        return True
    return (actor.role == Role.MANAGER and actor.api_client is None and actor.bureau is not None
            and actor.bureau.pk == source.bureau_id)


def check_can_write(actor: Actor, source: Source | None = None) -> None:
    """``can_write`` as a refusal: 403 for a reader, 404 for another bureau's source."""
    if actor.role == Role.PLATFORM_ADMIN:
        return
    if actor.role != Role.MANAGER or actor.api_client is not None:
        raise PermissionDenied("Only a bureau manager may change sources and their bindings.", code="not_manager")
    if source is not None and not can_write(actor, source):
        raise NotFound()


def audit_change(actor: Actor, source: Source, change: str, **details: Any) -> None:
    audit_record(
        action=AuditEntry.Action.SOURCE_CHANGED, actor=actor.label, bureau=source.bureau.slug,
        object_type="source", object_id=source.pk, details={"change": change, "name": source.name, **details},
    )


def audit_value(value: Any, name: str = "") -> Any:
    """A field's value as the audit log keeps it."""
    if name == "url":
        return grabbers.masked_url(value)  # the audit log is read by auditors, not camera admins
    return str(value) if isinstance(value, Decimal) else value
