"""Writes to the audit log: append one entry, record a verification.

Other apps call ``audit_record`` inside their own transaction, so an action that rolls back leaves
no entry, and an entry never describes something that did not happen.
"""

import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from services.audit.chain import GENESIS, canonical_json, entry_hash
from services.audit.models import AuditChainHead, AuditCheck, AuditEntry
from services.audit.selectors import audit_chain_verify

Action = AuditEntry.Action


def _locked_head() -> AuditChainHead:
    """Lock the one head row (SELECT … FOR UPDATE): concurrent appends queue here, so each builds on
    the entry the previous one wrote and the chain cannot fork."""
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # First append ever (or after a test flush): start from the last entry, if any.
        last = AuditEntry.objects.order_by("-seq").values("seq", "hash").first() or {"seq": 0, "hash": GENESIS}
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(pk=1, seq=last["seq"], hash=last["hash"])], ignore_conflicts=True
        )
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def audit_record(
    *,
    action: str,
    actor: str,
    bureau: str | None = "",
    object_type: str = "",
    object_id: Any = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain.

    ``actor`` is a label (``user:<name>``, ``api-client:<prefix>``, ``system``, ``command:<name>``)
    and ``bureau`` a slug: text, because the audit log sits below accounts and outlives users.
    """
    if action not in Action.values:
        raise ValueError(f"unknown audit action {action!r}")
    fields = {
        "actor": str(actor)[:200],
        "bureau": (bureau or "")[:64],
        "action": action,
        "object_type": object_type[:64],
        "object_id": str(object_id or "")[:200],
        "details": canonical_json(details or {}),
    }
    with transaction.atomic():
        head = _locked_head()
        seq, at = head.seq + 1, timezone.now()
        digest = entry_hash(seq=seq, at=at, prev_hash=head.hash, **fields)
        entry = AuditEntry.objects.create(seq=seq, at=at, prev_hash=head.hash, hash=digest, **fields)
        AuditChainHead.objects.filter(pk=1).update(seq=seq, hash=digest)
    return entry


def audit_chain_check(*, by: str, record_entry: bool = True) -> AuditCheck:
    """Verify the whole chain and keep the outcome for the auditor page (and, as an entry, who checked)."""
    t0 = time.perf_counter()
    status = audit_chain_verify()
    check = AuditCheck.objects.create(
        by=by[:200],
        ok=status.ok,
        entries=status.entries,
        head_seq=status.head_seq,
        head_hash=status.head_hash,
        first_broken_seq=status.first_broken_seq,
        reason=status.reason,
        duration_ms=(time.perf_counter() - t0) * 1000,
    )
    if record_entry:
        audit_record(
            action=Action.AUDIT_VERIFIED, actor=by, object_type="audit_check", object_id=check.pk,
            details={"ok": status.ok, "entries": status.entries, "first_broken_seq": status.first_broken_seq},
        )
    return check
