from services.accounts.keys import generate_key, hash_key, key_matches, parse_prefix


def test_generated_key_round_trip():
    key, prefix, digest = generate_key()
    assert key.startswith(f"cai_{prefix}_")
    assert parse_prefix(key) == prefix
    assert digest == hash_key(key) and key_matches(key, digest)
    assert not key_matches(key + "x", digest)
    assert key not in digest


def test_malformed_keys_have_no_prefix():
    for bad in ("", "cai", "cai__x", "xyz_ab_cd", "cai_ab_"):
        assert parse_prefix(bad) is None
