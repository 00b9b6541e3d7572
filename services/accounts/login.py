"""Portal sign-in with throttling: failures per (username, address) are counted in Redis, and past
``CITYAI_LOGIN_MAX_FAILURES`` the pair is locked out for ``CITYAI_LOGIN_LOCKOUT_SECONDS``.

Counting per pair, not per username alone, keeps an attacker from locking a real user out from
elsewhere. If Redis cannot be reached the sign-in goes on unthrottled: the lock protects accounts,
it must not take the portal down.
"""

import hashlib
import logging

import redis
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from services.core.redis import get_redis

logger = logging.getLogger(__name__)


def _key(username: str, request) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    digest = hashlib.sha256(f"{username.strip().lower()}\n{address}".encode()).hexdigest()[:32]
    return f"cityai:login-failures:{digest}"


def login_failures(username: str, request) -> int:
    try:
        return int(get_redis().get(_key(username, request)) or 0)
    except (redis.RedisError, ValueError) as exc:
        logger.warning("login throttle not checked (Redis unavailable: %s)", exc)
        return 0


def login_failure_count(username: str, request) -> None:
    try:
        pipe = get_redis().pipeline()
        pipe.incr(_key(username, request))
        pipe.expire(_key(username, request), settings.CITYAI_LOGIN_LOCKOUT_SECONDS)
        pipe.execute()
    except (redis.RedisError, ValueError) as exc:
        logger.warning("login failure not counted (Redis unavailable: %s)", exc)


def login_failures_clear(username: str, request) -> None:
    try:
        get_redis().delete(_key(username, request))
    except (redis.RedisError, ValueError) as exc:
        logger.warning("login failures not cleared (Redis unavailable: %s)", exc)


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked_out": _(
            "Too many failed sign-ins for this account from your address. Try again in %(minutes)s minutes."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if username and login_failures(username, self.request) >= settings.CITYAI_LOGIN_MAX_FAILURES:
            # Not even tried: a locked-out attempt still counts as a failed login in the audit log.
            user_login_failed.send(sender=__name__, credentials={"username": username}, request=self.request)
            raise ValidationError(
                self.error_messages["locked_out"],
                code="locked_out",
                params={"minutes": max(1, settings.CITYAI_LOGIN_LOCKOUT_SECONDS // 60)},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            if username:
                login_failure_count(username, self.request)
            raise
        login_failures_clear(username, self.request)
        return cleaned
