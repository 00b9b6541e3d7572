"""The API's two shared pieces: ``ScopedApiView``, the base of every API view (the actor resolved once,
input read through serializers), and the one place where errors become HTTP answers:
``{"error": {"code", "message", "details"}}``."""

import logging
from functools import cache

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from django.utils.module_loading import import_string
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback

from services.core.errors import ApplicationError

logger = logging.getLogger(__name__)


@cache
def _actor_resolver():
    """``settings.CITYAI_ACTOR_RESOLVER`` (accounts' ``actor_from_request``), named in settings so that
    core, the lowest layer, imports no app."""
    return import_string(settings.CITYAI_ACTOR_RESOLVER)


class ScopedApiView(APIView):
    """The base of every API view.

    After DRF has authenticated, checked permissions and throttled, the caller's ``Actor`` (bureau,
    role, API client or user) is resolved once into ``self.actor``; handlers pass it to the selectors
    and services, which scope every row to it. Input is read through serializers (``self.read``), so
    what is accepted and what the OpenAPI schema says come from one declaration.
    """

    actor = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.actor = _actor_resolver()(request)

    def read(self, serializer_class: type[serializers.Serializer], data=None, **context) -> dict:
        """The validated body (or ``data``, e.g. ``request.query_params``), or a 400 naming each field."""
        serializer = serializer_class(
            data=self.request.data if data is None else data,
            context={"request": self.request, "actor": self.actor, **context},
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def serializer_context(self, **extra) -> dict:
        """What output serializers need: the request (absolute URLs) and the actor (what it may see)."""
        return {"request": self.request, "actor": self.actor, **extra}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(item) for item in detail)
    return str(detail)


def exception_handler(exc, context):
    """DRF exception handler: every API failure, ours or DRF's, has the same JSON shape."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("request_too_large", "The request body is larger than the server accepts."),
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response(error_body("too_many_fields", "The form has too many fields or files."),
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        if isinstance(exc, exceptions.ValidationError):
            body = error_body("invalid", _flatten(exc.detail), {"fields": exc.detail})
        else:
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else exc.default_code
            body = error_body(code, _flatten(exc.detail))
        response = Response(body, status=exc.status_code)
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            response["WWW-Authenticate"] = 'Api-Key realm="api"'
        return response
    return None


def json_error_view(status_code: int, code: str, message: str):
    """Plain Django views for 404/500 under /api/ so that even routing errors answer JSON."""

    def view(request, exception=None, **kwargs):
        return JsonResponse(error_body(code, message), status=status_code)

    return view


api_not_found = json_error_view(status.HTTP_404_NOT_FOUND, "not_found", "No such API endpoint.")
api_server_error = json_error_view(
    status.HTTP_500_INTERNAL_SERVER_ERROR, "server_error", "The server failed; the error was logged."
)
