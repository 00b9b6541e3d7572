"""Device key authentication for edge devices: ``Authorization: Device-Key cad_<prefix>_<secret>``.

A device key names one source, not a person or a department: it may only push to that source, so
it is accepted by the push endpoint alone (the other APIs do not list this class). Its format, hash
and header reading are the API keys' (``accounts.keys``, ``accounts.authentication``) with kind ``cad``.
"""

from django.conf import settings
from rest_framework import exceptions

from services.accounts.authentication import KeyAuthentication, KeyPrincipal, KeyScheme
from services.accounts.throttling import PerMinuteRateThrottle
from services.sources.models import Source
from services.sources.services import source_for_device_key


class DeviceUser(KeyPrincipal):
    """The authenticated principal of a push: a source speaking for itself."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source.request_source


class DeviceKeyAuthentication(KeyAuthentication):
    scheme = "Device-Key"
    realm = "devices"

    def authenticate(self, request):
        key = self.key_from_request(request)
        if key is None:
            return None
        source = source_for_device_key(key=key)
        if source is None:
            raise exceptions.AuthenticationFailed("Unknown, malformed or replaced device key.")
        return DeviceUser(source), source


class DeviceKeyScheme(KeyScheme):
    target_class = DeviceKeyAuthentication
    name = "DeviceKeyAuth"
    description = "`Device-Key <key>`: the key a bureau manager issued for one source"


class DeviceRateThrottle(PerMinuteRateThrottle):
    """Pushes per source and minute, counted in Redis like the API clients' limit (and, like it,
    let through when Redis is unreachable: the limit protects the platform, it must not stop it)."""

    scope = "device-rate"

    def key_and_limit(self, request) -> tuple[str, int] | None:
        source = getattr(request.user, "source", None)
        return None if source is None else (str(source.pk), settings.CITYAI_DEVICE_RATE_PER_MINUTE)
