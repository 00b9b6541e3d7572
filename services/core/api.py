"""The API's shared pieces: ``ScopedApiView``, the base of every API view (the actor resolved once,
input read through serializers), ``InputSerializer``, the base of every input (one rule for the error
codes), ``LeanInput`` for the hot paths, and the one place where errors become HTTP answers:
``{"error": {"code", "message", "details"}}``."""

import logging
from collections.abc import Mapping
from functools import cache
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from django.utils.module_loading import import_string
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import SkipField, empty
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView, set_rollback

from services.core.errors import ApplicationError
from services.core.pagination import CappedLimitOffsetPagination

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
        self.actor = self.resolve_actor(request)

    def resolve_actor(self, request):
        """Who acts: the settings' resolver (a member or an API client); a view whose callers are
        something else (a device acting for its source) overrides this, not ``initial``."""
        return _actor_resolver()(request)

    def read(self, serializer_class: type[serializers.Serializer], data=None, **context) -> dict:
        """The validated body (or ``data``, e.g. ``request.query_params``), or a 400 naming each field."""
        if data is None:
            data = self.request.data
        if not isinstance(data, Mapping):
            raise ApplicationError("The body must be a JSON object (or a form).", code="invalid_body")
        return read_input(serializer_class, data, **self.serializer_context(**context))

    def serializer_context(self, **extra) -> dict:
        """What output serializers need: the request (absolute URLs) and the actor (what it may see)."""
        return {"request": self.request, "actor": self.actor, **extra}

    def paginated(self, queryset, serializer_class=None, *, render=None) -> Response:
        """One page of ``queryset`` (``?limit=&offset=``), each row rendered by ``serializer_class`` or
        by ``render(row)``, with the count and the links to the next and previous pages."""
        paginator = CappedLimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        if render is not None:
            rows = [render(row) for row in page]
        else:
            rows = serializer_class(page, many=True, context=self.serializer_context()).data
        return paginator.get_paginated_response(rows)


class InputSerializer(serializers.Serializer):
    """The base of every endpoint's input (a body or a query string), and its one rule for errors.

    A field it does not know is refused (``unknown_fields``): a misspelt field must not be ignored
    silently. Query strings set ``others_allowed``: they carry other readers' fields too (the
    paginator's ``limit`` and ``offset``, ``wait``). DRF's own error keys become the codes clients act
    on: ``missing_<field>`` for an absent, blank or null field, ``invalid_<field>`` for any other
    failure of DRF's checks (``error_nouns`` names the word where it is not the field's name:
    ``invalid_coordinates``). A code our fields or checks name (``CodedField``, ``ValidationError(…,
    code=…)``: ``invalid_json``, ``missing_input`` …) is kept.
    """

    error_nouns: ClassVar[dict[str, str]] = {}
    others_allowed: ClassVar[bool] = False

    def to_internal_value(self, data):
        self.refuse_unknown(data)
        try:
            return super().to_internal_value(data)
        except ValidationError as exc:
            raise ValidationError(self.recoded(exc.detail)) from None

    def refuse_unknown(self, data) -> None:
        if isinstance(data, Mapping) and not self.others_allowed:
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail(
                    f"Unknown fields: {', '.join(unknown)}; allowed: {', '.join(self.fields)}.",
                    code="unknown_fields")]})

    def recoded(self, detail: dict) -> dict:
        """``{field: errors}`` with DRF's own codes turned into ours (see the class)."""
        result = {}
        for name, errors in detail.items():
            field = self.fields.get(name, self)  # non-field errors are the serializer's own
            noun = "body" if field is self else self.error_nouns.get(name, name)
            result[name] = _recode(errors, field.error_messages, noun)
        return result


def _recode(detail, drf_keys, noun: str):
    if isinstance(detail, list):
        return [_recode(item, drf_keys, noun) for item in detail]
    if isinstance(detail, dict):
        return {key: _recode(item, drf_keys, noun) for key, item in detail.items()}
    code = getattr(detail, "code", None)
    if code in drf_keys:
        code = f"missing_{noun}" if code in ("required", "blank", "null") else f"invalid_{noun}"
    return ErrorDetail(str(detail), code=code)


def read_input(serializer_class: type[serializers.Serializer], data, **context) -> dict:
    """``data`` checked by ``serializer_class`` outside an API view (portal forms; views use ``read``)."""
    if issubclass(serializer_class, LeanInput):
        return serializer_class.read(data)
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class LeanInput(InputSerializer):
    """An input serializer for the hot paths (each submit, each item of a batch), read with ``read``.

    Declared like any serializer, so the OpenAPI schema and what is accepted stay one declaration; but
    DRF builds a serializer's fields anew for every instance (a deep copy of each): ≈ 170 µs for a
    submit whose body takes ≈ 5 µs to read by hand. Here the fields are built once per class, and a field
    absent from the body is skipped unless it is required or has a default; otherwise the rules are
    DRF's (``get_value``, ``run_validation``, ``validate_<field>``, ``validate``). Hence: its fields and
    ``validate`` must not keep state or read ``self.context`` (they are shared between requests).
    """

    @classmethod
    def read(cls, data: Mapping) -> dict:
        """The validated data, or a ``ValidationError`` naming each field (as ``is_valid`` would)."""
        built = cls.__dict__.get("_built")  # this class's own, not a base's
        if built is None:
            prototype = cls()
            plan = [(name, field, field.required or field.default is not empty,
                     getattr(prototype, f"validate_{name}", None))
                    for name, field in prototype.fields.items() if not field.read_only]
            built = cls._built = (prototype, plan)
        prototype, plan = built
        prototype.refuse_unknown(data)
        attrs, errors = {}, {}
        for name, field, always, validate_field in plan:
            if name in data:
                primitive = field.get_value(data)
            elif always:
                primitive = empty
            else:
                continue
            try:
                value = field.run_validation(primitive)
                if validate_field is not None:
                    value = validate_field(value)
            except exceptions.ValidationError as exc:
                errors[name] = exc.detail
            except SkipField:
                continue
            else:
                attrs[field.source] = value
        if errors:
            raise exceptions.ValidationError(prototype.recoded(errors))
        try:
            return prototype.validate(attrs)
        except exceptions.ValidationError as exc:
            raise exceptions.ValidationError(prototype.recoded(serializers.as_serializer_error(exc))) from None


def schema_doc_excludes() -> list:
    """drf-spectacular describes an operation (a component) by its view's (serializer's) docstring, or
    else by a base class's: never by these bases' (``SPECTACULAR_SETTINGS["GET_LIB_DOC_EXCLUDES"]``)."""
    from drf_spectacular.plumbing import get_lib_doc_excludes

    return [*get_lib_doc_excludes(), ScopedApiView, LeanInput]


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(_flatten(value) if key == api_settings.NON_FIELD_ERRORS_KEY else f"{key}: {_flatten(value)}"
                         for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(item) for item in detail)
    return str(detail)


def _errors(detail) -> list:
    if isinstance(detail, dict):
        return [error for value in detail.values() for error in _errors(value)]
    if isinstance(detail, list):
        return [error for item in detail for error in _errors(item)]
    return [detail]


def validation_failure(exc: exceptions.ValidationError) -> ApplicationError:
    """A serializer's errors as our one error: the code of the error when there is one (``invalid_json``,
    ``missing_input`` … : what a client acts on), ``invalid`` when several; each field's errors in
    ``details.fields``."""
    errors = _errors(exc.detail)
    code = getattr(errors[0], "code", None) if len(errors) == 1 else None
    return ApplicationError(_flatten(exc.detail), code=code or "invalid", details={"fields": exc.detail})


def exception_handler(exc, context):
    """DRF exception handler: every API failure, ours or DRF's, has the same JSON shape."""
    if isinstance(exc, exceptions.ValidationError):
        exc = validation_failure(exc)
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
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response = Response(error_body(code, _flatten(exc.detail)), status=exc.status_code)
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            # The view's own scheme (DRF puts it on the exception), else the API key's.
            response["WWW-Authenticate"] = getattr(exc, "auth_header", None) or 'Api-Key realm="api"'
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
