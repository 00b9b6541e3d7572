"""Appends from many connections at once still make one unbroken chain."""

import itertools
import threading

import pytest
from django.db import connection

from services.audit.models import AuditEntry
from services.audit.selectors import audit_chain_verify
from services.audit.services import audit_record

THREADS, EACH = 8, 25


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_do_not_fork_the_chain():
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            start.wait()
            for i in range(EACH):
                audit_record(action=AuditEntry.Action.EXPORT, actor=f"user:w{worker}", object_id=i,
                             details={"worker": worker, "i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, THREADS * EACH + 1))
    # The workers really interleaved: the chain is not eight runs of 25.
    actors = list(AuditEntry.objects.order_by("seq").values_list("actor", flat=True))
    switches = sum(1 for a, b in itertools.pairwise(actors) if a != b)
    assert switches > THREADS
    status = audit_chain_verify()
    assert status.ok and status.entries == THREADS * EACH
