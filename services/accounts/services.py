"""Writes for bureaus, members and API clients."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from services.accounts.keys import generate_key, hash_key, parse_prefix
from services.accounts.models import ApiClient, Bureau, Membership
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.core.errors import ApplicationError, Conflict


def _user_label(user) -> str:
    return f"user:{user.get_username()}" if user is not None else "system"


@transaction.atomic
def bureau_upsert(*, slug: str, name_zh: str, name_en: str, kind: str = Bureau.Kind.BUREAU) -> Bureau:
    bureau, _ = Bureau.objects.update_or_create(
        slug=slug, defaults={"name_zh": name_zh, "name_en": name_en, "kind": kind}
    )
    return bureau


@transaction.atomic
def member_upsert(
    *, bureau: Bureau, username: str, password: str, role: str, email: str = "", changed_by=None
) -> Membership:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username, defaults={"email": email})
    if created or not user.has_usable_password():
        user.set_password(password)
        user.save()
    before = Membership.objects.filter(user=user).values("bureau__slug", "role").first()
    membership, _ = Membership.objects.update_or_create(user=user, defaults={"bureau": bureau, "role": role})
    if before != {"bureau__slug": bureau.slug, "role": role}:
        # Who may see what follows from the role: every grant and change is audited.
        audit_record(
            action=AuditEntry.Action.ROLE_CHANGED, actor=_user_label(changed_by), bureau=bureau.slug,
            object_type="user", object_id=user.pk, details={
                "username": user.get_username(), "role": role, "bureau": bureau.slug,
                "previous": {"role": before["role"], "bureau": before["bureau__slug"]} if before else None,
            },
        )
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
    audit_record(
        action=AuditEntry.Action.API_KEY_CREATED, actor=_user_label(created_by), bureau=bureau.slug,
        object_type="api_client", object_id=client.pk, details={
            "name": name, "prefix": prefix, "scopes": client.scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return client, key


@transaction.atomic
def api_client_revoke(*, client: ApiClient, revoked_by=None) -> ApiClient:
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditEntry.Action.API_KEY_REVOKED, actor=_user_label(revoked_by), bureau=client.bureau.slug,
            object_type="api_client", object_id=client.pk, details={"name": client.name, "prefix": client.prefix},
        )
    return client


@transaction.atomic
def member_add(*, bureau: Bureau, username: str, password: str, role: str = Membership.Role.OPERATOR,
               email: str = "", added_by=None) -> Membership:
    """Add a new user to a bureau (the portal's "add an operator").

    Unlike ``member_upsert`` (seeding), this never touches an existing account: a bureau manager must
    not be able to take over, or reset the password of, a user of another bureau by naming them.
    """
    username = username.strip()
    user_model = get_user_model()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    try:
        field.run_validators(username)
        if not username:
            raise ValidationError("A user name is required.")
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), code="invalid_username") from None
    if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
        raise Conflict(f"The user name {username!r} is taken.", code="username_taken")
    user = user_model(**{user_model.USERNAME_FIELD: username}, email=email.strip())
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), code="weak_password") from None
    user.set_password(password)
    user.save()
    membership = Membership.objects.create(user=user, bureau=bureau, role=role)
    # A new account is a grant like any role change: who created it, for which bureau, with what role.
    audit_record(
        action=AuditEntry.Action.ROLE_CHANGED, actor=_user_label(added_by), bureau=bureau.slug,
        object_type="user", object_id=user.pk, details={
            "username": user.get_username(), "role": role, "bureau": bureau.slug, "previous": None,
            "created": True,
        },
    )
    return membership
