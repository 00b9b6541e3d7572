"""Logins, logouts and failed logins, from Django's auth signals.

The bureau is read from the user's ``membership`` attribute (the reverse of accounts'
one-to-one) so that this module imports nothing of accounts.
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ObjectDoesNotExist
from django.dispatch import receiver

from services.audit.models import AuditEntry
from services.audit.services import audit_record


def _bureau_of(user) -> str:
    try:
        return user.membership.bureau.slug
    except (ObjectDoesNotExist, AttributeError):
        return ""


def _client(request) -> dict:
    if request is None:
        return {}
    return {"ip": request.META.get("REMOTE_ADDR", ""), "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200]}


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs) -> None:
    audit_record(
        action=AuditEntry.Action.LOGIN, actor=f"user:{user.get_username()}", bureau=_bureau_of(user),
        object_type="user", object_id=user.pk, details=_client(request),
    )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    audit_record(
        action=AuditEntry.Action.LOGOUT, actor=f"user:{user.get_username()}", bureau=_bureau_of(user),
        object_type="user", object_id=user.pk, details=_client(request),
    )


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already masked the password in ``credentials``; only the name is kept.
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action=AuditEntry.Action.LOGIN_FAILED, actor="anonymous", object_type="user", object_id=username,
        details={"username": username, **_client(request)},
    )
