import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users are made in many tests here; the real hasher's deliberate slowness only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
