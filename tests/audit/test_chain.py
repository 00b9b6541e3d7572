"""The hash chain: it verifies when untouched, and names the first entry that was tampered with."""

import io
import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from services.audit.chain import GENESIS
from services.audit.models import AuditChainHead, AuditCheck, AuditEntry
from services.audit.selectors import audit_chain_verify
from services.audit.services import audit_record

pytestmark = pytest.mark.django_db

TABLE = AuditEntry._meta.db_table
ROW_TRIGGER = "audit_entry_no_update_delete"


def _append(n: int) -> list[AuditEntry]:
    return [
        audit_record(action=AuditEntry.Action.EXPORT, actor=f"user:u{i}", bureau="bureau-a", object_type="thing",
                     object_id=i, details={"i": i, "big": 1e20, "small": 1.5e-7, "text": "导出 ✓", "none": None})
        for i in range(n)
    ]


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _tamper(statement: str, params=()) -> None:
    """What someone with the table owner's rights could do: switch the trigger off, change rows."""
    _sql(f"ALTER TABLE {TABLE} DISABLE TRIGGER {ROW_TRIGGER}")
    _sql(statement, params)
    _sql(f"ALTER TABLE {TABLE} ENABLE TRIGGER {ROW_TRIGGER}")


def _verify_fails() -> CommandError:
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", "--no-record", stdout=io.StringIO())
    assert caught.value.returncode != 0
    return caught.value


def _first_seq() -> int:
    return AuditEntry.objects.order_by("seq").values_list("seq", flat=True).first()


def test_entries_form_one_chain_that_verifies():
    start = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
    entries = _append(5)
    assert [e.seq for e in entries] == list(range(start + 1, start + 6))
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    first = AuditEntry.objects.get(seq=1)
    assert first.prev_hash == GENESIS
    status = audit_chain_verify()
    assert status.ok and status.entries == start + 5 and status.head_hash == entries[-1].hash
    # Numbers jsonb would have rewritten are stored as written, so the hash still matches.
    assert AuditEntry.objects.get(pk=entries[0].pk).details_data["big"] == 1e20
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "audit chain ok" in out.getvalue()
    assert AuditCheck.objects.latest("checked_at").ok
    assert AuditEntry.objects.latest("seq").action == AuditEntry.Action.AUDIT_VERIFIED


def test_changed_content_is_named():
    entries = _append(6)
    target = entries[2]
    _tamper(f"UPDATE {TABLE} SET details = %s WHERE seq = %s", ['{"i":999}', target.seq])
    error = _verify_fails()
    assert f"#{target.seq}" in str(error) and "content does not match" in str(error)


def test_rehashed_row_is_found_at_the_next_link():
    """Recomputing the changed row's own hash does not help: the next entry still points at the old one."""
    from services.audit.chain import entry_hash

    entries = _append(5)
    target = AuditEntry.objects.get(pk=entries[1].pk)
    forged = entry_hash(seq=target.seq, at=target.at, actor="user:someone-else", bureau=target.bureau,
                        action=target.action, object_type=target.object_type, object_id=target.object_id,
                        details=target.details, prev_hash=target.prev_hash)
    _tamper(f"UPDATE {TABLE} SET actor = %s, hash = %s WHERE seq = %s", ["user:someone-else", forged, target.seq])
    error = _verify_fails()
    assert f"#{target.seq + 1}" in str(error) and "prev_hash" in str(error)


def test_deleted_rows_are_named():
    entries = _append(6)
    _tamper(f"DELETE FROM {TABLE} WHERE seq = %s", [entries[3].seq])
    error = _verify_fails()
    assert f"#{entries[4].seq}" in str(error) and "missing" in str(error)


def test_deleted_tail_is_found_through_the_head():
    entries = _append(4)
    _tamper(f"DELETE FROM {TABLE} WHERE seq >= %s", [entries[2].seq])
    error = _verify_fails()
    assert f"#{entries[2].seq}" in str(error) and "last rows were removed" in str(error)


def test_update_and_delete_are_refused_with_the_trigger_on():
    entries = _append(2)
    for statement in (f"UPDATE {TABLE} SET actor = 'x'", f"DELETE FROM {TABLE}",
                      f"UPDATE {TABLE} SET details = '{{}}' WHERE seq = {entries[0].seq}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            _sql(statement)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entries[0].pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entries[1].actor = "user:other"
        entries[1].save()
    assert audit_chain_verify().ok


def test_truncate_is_refused():
    """Test databases allow TRUNCATE (Django empties tables that way between transactional tests);
    the strict guard, which every other database has, refuses it."""
    _append(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _sql("SET LOCAL cityai.audit_guard = 'strict'")
        _sql(f"TRUNCATE {TABLE}")
    assert AuditEntry.objects.exists()
