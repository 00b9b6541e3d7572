"""API key authentication: ``Authorization: Api-Key <key>`` or ``X-API-Key: <key>``."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from services.accounts.keys import key_matches, parse_prefix
from services.accounts.models import ApiClient
from services.core import configcache

# last_used_at is informative; writing it on every call would add a commit per request.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiClientUser:
    """The authenticated principal of an API call: a department's client acting for its bureau."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, client: ApiClient) -> None:
        self.api_client = client
        self.bureau = client.bureau
        self.pk = None
        self.id = None

    def __str__(self) -> str:
        return f"api-client:{self.api_client.prefix}"


def _key_from_request(request) -> str | None:
    header = authentication.get_authorization_header(request).decode(errors="replace")
    if header.lower().startswith("api-key "):
        return header[8:].strip()
    return request.headers.get("X-API-Key")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = _key_from_request(request)
        if key is None:
            return None
        prefix = parse_prefix(key)
        if prefix is None:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        client = configcache.cached(
            ("api-client", prefix), lambda: ApiClient.objects.select_related("bureau").filter(prefix=prefix).first()
        )
        if client is None or not key_matches(key, client.key_hash):
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if client.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key was revoked.")
        if not client.is_active:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > _LAST_USED_RESOLUTION:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
            client.last_used_at = now  # the cached row too: one write a minute, not one a call
        return ApiClientUser(client), client

    def authenticate_header(self, request) -> str:
        return 'Api-Key realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema how department keys are sent."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` (or the header `X-API-Key: <key>`)",
        }
