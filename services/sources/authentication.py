"""Device key authentication for edge devices: ``Authorization: Device-Key cad_<prefix>_<secret>``.

A device key names one source, not a person or a department: it may only push to that source, so
it is accepted by the push endpoint alone (the other APIs do not list this class).
"""

import logging
import time

import redis
from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.throttling import BaseThrottle

from services.core.redis import get_redis
from services.sources.models import Source
from services.sources.services import source_for_device_key

logger = logging.getLogger(__name__)
SCHEME = "device-key "


class DeviceUser:
    """The authenticated principal of a push: a source speaking for itself."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, source: Source) -> None:
        self.source = source
        self.pk = None
        self.id = None

    def __str__(self) -> str:
        return self.source.request_source


class DeviceKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.lower().startswith(SCHEME):
            return None
        source = source_for_device_key(key=header[len(SCHEME):].strip())
        if source is None:
            raise exceptions.AuthenticationFailed("Unknown, malformed or replaced device key.")
        return DeviceUser(source), source

    def authenticate_header(self, request) -> str:
        return 'Device-Key realm="devices"'


class DeviceKeyScheme(OpenApiAuthenticationExtension):
    target_class = DeviceKeyAuthentication
    name = "DeviceKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Device-Key <key>`: the key a bureau manager issued for one source"}


class DeviceRateThrottle(BaseThrottle):
    """Pushes per source and minute, counted in Redis like the API clients' limit (and, like it,
    let through when Redis is unreachable: the limit protects the platform, it must not stop it)."""

    def __init__(self) -> None:
        self._wait = None

    def allow_request(self, request, view) -> bool:
        source = getattr(request.user, "source", None)
        limit = settings.CITYAI_DEVICE_RATE_PER_MINUTE
        if source is None or not limit:
            return True
        now = time.time()
        window = int(now // 60)
        key = f"cityai:device-rate:{source.pk}:{window}"
        try:
            pipe = get_redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            count = pipe.execute()[0]
        except (redis.RedisError, ValueError) as exc:
            logger.warning("device rate limit not checked (Redis unavailable: %s)", exc)
            return True
        if count > limit:
            self._wait = (window + 1) * 60 - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
