"""Key format and hashing: ``<kind>_<prefix>_<secret>``, the secret with 256 bits of entropy.

The kind says what a key opens: ``cai`` an API client's key (the default here), ``cad`` a source's
device key (sources app). The prefix finds the row; only the SHA-256 of the whole key is stored.
"""

import hashlib
import hmac
import secrets

KEY_PREFIX = "cai"


def generate_key(kind: str = KEY_PREFIX) -> tuple[str, str, str]:
    """Return (full key, prefix, sha256 hex of the full key)."""
    prefix = secrets.token_hex(4)
    key = f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def hash_key(key: str) -> str:
    # A plain SHA-256 suffices: the secret is random and long, so there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def parse_prefix(key: str, kind: str = KEY_PREFIX) -> str | None:
    """The prefix of a well-formed key of this kind, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != kind or not parts[1] or not parts[2]:
        return None
    return parts[1]


def key_matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), key_hash)
