"""API key authentication: ``Authorization: Api-Key <key>`` or ``X-API-Key: <key>``; its key-reading
base also serves the sources app's device keys (``Device-Key <key>``)."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from services.accounts.keys import key_matches, parse_prefix
from services.accounts.models import ApiClient
from services.core import configcache

# last_used_at is informative; writing it on every call would add a commit per request.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class KeyPrincipal:
    """``request.user`` of a call made with a key: a department's client or a device, never a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None


class KeyAuthentication(authentication.BaseAuthentication):
    """A key sent as ``Authorization: <scheme> <key>``; subclasses name the scheme and find the key's row
    (API keys here, device keys in the sources app)."""

    scheme = ""
    realm = ""

    def key_from_request(self, request) -> str | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        word = f"{self.scheme.lower()} "
        return header[len(word):].strip() if header.lower().startswith(word) else None

    def authenticate_header(self, request) -> str:
        return f'{self.scheme} realm="{self.realm}"'


class KeyScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema says a ``KeyAuthentication``'s key is sent: in ``Authorization``."""

    description = ""

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": self.description}


class ApiClientUser(KeyPrincipal):
    """The authenticated principal of an API call: a department's client acting for its bureau."""

    def __init__(self, client: ApiClient) -> None:
        self.api_client = client
        self.bureau = client.bureau

    def __str__(self) -> str:
        return f"api-client:{self.api_client.prefix}"


class ApiKeyAuthentication(KeyAuthentication):
    scheme = "Api-Key"
    realm = "api"

    def key_from_request(self, request) -> str | None:
        key = super().key_from_request(request)
        return key if key is not None else request.headers.get("X-API-Key")

    def authenticate(self, request):
        key = self.key_from_request(request)
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


class ApiKeyScheme(KeyScheme):
    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"
    description = "`Api-Key <key>` (or the header `X-API-Key: <key>`)"
