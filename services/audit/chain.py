"""The hash chain itself: canonical content, hashing and the walk that verifies it.

Kept free of Django writes so that the hashing rule is in one short place: an entry's hash is
SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of its content fields plus the
previous entry's hash. The first entry's predecessor is ``GENESIS``.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS = "0" * 64
CONTENT_FIELDS = ("seq", "at", "actor", "bureau", "action", "object_type", "object_id", "details")


def canonical_json(value: Any) -> str:
    """One text for one value: what is stored is exactly what is hashed."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, cls=DjangoJSONEncoder
    )


def timestamp(at: datetime) -> str:
    """A fixed UTC form with microseconds, the precision both PostgreSQL and SQLite keep."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(*, seq: int, at: datetime, actor: str, bureau: str, action: str, object_type: str,
               object_id: str, details: str, prev_hash: str) -> str:
    payload = canonical_json({
        "seq": seq, "at": timestamp(at), "actor": actor, "bureau": bureau, "action": action,
        "object_type": object_type, "object_id": object_id, "details": details, "prev_hash": prev_hash,
    })
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None = None
    reason: str = ""


def walk(rows, *, head_seq: int | None, head_hash: str | None) -> ChainStatus:
    """Verify entries given in ``seq`` order (dicts with the content fields, prev_hash and hash).

    Stops at the first break and names it: a gap in ``seq`` (rows removed), a ``prev_hash`` that
    is not the previous row's hash (a row removed, inserted or rehashed), or a hash that does not
    match the content (the row was changed). ``head_*`` is the recorded tail; a chain that ends
    before it lost its last rows.
    """
    expected_seq, prev_hash, count = 1, GENESIS, 0
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
            return ChainStatus(False, count, head_seq or 0, head_hash or "", seq,
                               f"entry #{seq}: entries #{missing} are missing before it")
        if row["prev_hash"] != prev_hash:
            return ChainStatus(False, count, head_seq or 0, head_hash or "", seq,
                               f"entry #{seq}: its prev_hash is not the hash of entry #{seq - 1} "
                               f"(a row before it was rewritten, or this one was)")
        computed = entry_hash(**{name: row[name] for name in CONTENT_FIELDS}, prev_hash=row["prev_hash"])
        if computed != row["hash"]:
            return ChainStatus(False, count, head_seq or 0, head_hash or "", seq,
                               f"entry #{seq}: its content does not match its hash (the row was changed)")
        prev_hash, expected_seq, count = row["hash"], seq + 1, count + 1
    last_seq = expected_seq - 1
    if head_seq is None:
        if count:
            return ChainStatus(False, count, 0, "", last_seq, "the chain head record is missing")
        return ChainStatus(True, 0, 0, GENESIS)
    if last_seq < head_seq:
        return ChainStatus(False, count, head_seq, head_hash or "", last_seq + 1,
                           f"entry #{last_seq + 1}: missing; the chain head says it ends at #{head_seq} "
                           f"(the last rows were removed)")
    if last_seq == head_seq and prev_hash != head_hash:
        return ChainStatus(False, count, head_seq, head_hash or "", last_seq,
                           f"entry #{last_seq}: its hash is not the one the chain head recorded")
    return ChainStatus(True, count, head_seq, head_hash or GENESIS)
