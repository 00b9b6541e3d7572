"""Device key authentication for edge devices: ``Authorization: Device-Key cad_<prefix>_<secret>``.

A device key names one source, not a person or a department: it may only push to that source, so
it is accepted by the push endpoint alone (the other APIs do not list this class).
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from services.accounts.throttling import PerMinuteRateThrottle
from services.sources.models import Source
from services.sources.services import source_for_device_key

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


class DeviceRateThrottle(PerMinuteRateThrottle):
    """Pushes per source and minute, counted in Redis like the API clients' limit (and, like it,
    let through when Redis is unreachable: the limit protects the platform, it must not stop it)."""

    scope = "device-rate"

    def key_and_limit(self, request) -> tuple[str, int] | None:
        source = getattr(request.user, "source", None)
        return None if source is None else (str(source.pk), settings.CITYAI_DEVICE_RATE_PER_MINUTE)
