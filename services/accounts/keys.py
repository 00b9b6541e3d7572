"""API key format and hashing: ``cai_<prefix>_<secret>``; the secret has 256 bits of entropy."""

import hashlib
import hmac
import secrets

KEY_PREFIX = "cai"


def generate_key() -> tuple[str, str, str]:
    """Return (full key, prefix, sha256 hex of the full key)."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def hash_key(key: str) -> str:
    # A plain SHA-256 suffices: the secret is random and long, so there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def parse_prefix(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def key_matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), key_hash)
