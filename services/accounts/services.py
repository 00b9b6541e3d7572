"""Writes for bureaus, members and API clients."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from services.accounts.keys import generate_key, hash_key, parse_prefix
from services.accounts.models import ApiClient, Bureau, Membership


@transaction.atomic
def bureau_upsert(*, slug: str, name_zh: str, name_en: str, kind: str = Bureau.Kind.BUREAU) -> Bureau:
    bureau, _ = Bureau.objects.update_or_create(
        slug=slug, defaults={"name_zh": name_zh, "name_en": name_en, "kind": kind}
    )
    return bureau


@transaction.atomic
def member_upsert(*, bureau: Bureau, username: str, password: str, role: str, email: str = "") -> Membership:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username, defaults={"email": email})
    if created or not user.has_usable_password():
        user.set_password(password)
        user.save()
    membership, _ = Membership.objects.update_or_create(user=user, defaults={"bureau": bureau, "role": role})
    return membership


@transaction.atomic
def api_client_create(
    *,
    bureau: Bureau,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    created_by=None,
    key: str | None = None,
) -> tuple[ApiClient, str]:
    """Create a client and return it with its key, which is shown once and never stored."""
    if key is None:
        key, prefix, key_hash = generate_key()
    else:
        prefix, key_hash = parse_prefix(key), hash_key(key)
        if prefix is None:
            raise ValueError("A given key must have the form cai_<prefix>_<secret>.")
    client = ApiClient.objects.create(
        bureau=bureau,
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        scopes=scopes or [],
        expires_at=expires_at,
        created_by=created_by,
    )
    return client, key


def api_client_revoke(*, client: ApiClient) -> ApiClient:
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
    return client
