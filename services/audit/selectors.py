"""Reads of the audit log. Who may read it is decided above (the reports app knows the roles)."""

from datetime import datetime

from django.db.models import QuerySet

from services.audit.chain import CONTENT_FIELDS, ChainStatus, walk
from services.audit.models import AuditChainHead, AuditCheck, AuditEntry
from services.core.filters import filter_given

_WALK_FIELDS = (*CONTENT_FIELDS, "prev_hash", "hash")


def audit_entry_list(
    *,
    action: str | None = None,
    actor: str | None = None,
    bureau: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    return filter_given(
        AuditEntry.objects.all(), action=action, actor__icontains=actor, bureau=bureau, object_type=object_type,
        object_id=object_id, at__gte=since, at__lt=until,
    )


def _rows_up_to(head_seq: int, chunk_size: int):
    """Entries 1..head_seq in order, fetched by seq ranges (keyset), so memory stays flat."""
    after = 0
    while after < head_seq:
        chunk = list(
            AuditEntry.objects.filter(seq__gt=after, seq__lte=head_seq).order_by("seq").values(*_WALK_FIELDS)[
                :chunk_size
            ]
        )
        if not chunk:
            return
        yield from chunk
        after = chunk[-1]["seq"]


def audit_chain_verify(*, chunk_size: int = 5000) -> ChainStatus:
    """Walk the chain up to the recorded head. Entries appended while the walk runs lie past the
    head read at the start and are left for the next check."""
    head = AuditChainHead.objects.filter(pk=1).values("seq", "hash").first()
    if head is None:
        # No head: either nothing was ever appended, or the head row was removed.
        last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        return walk(_rows_up_to(last, chunk_size), head_seq=None, head_hash=None)
    return walk(_rows_up_to(head["seq"], chunk_size), head_seq=head["seq"], head_hash=head["hash"])


def audit_check_latest() -> AuditCheck | None:
    return AuditCheck.objects.first()


def audit_head() -> AuditChainHead | None:
    return AuditChainHead.objects.filter(pk=1).first()
