"""Every API view derives from core's ScopedApiView, so none resolves the caller its own way or forgets
to: the actor is resolved once, after authentication, and every handler scopes by it."""

from django.urls import URLPattern, URLResolver, get_resolver

from services.core.api import ScopedApiView


def _views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), getattr(pattern.callback, "cls", None)


def test_every_api_view_is_scoped():
    api = [(route, cls) for route, cls in _views(get_resolver().url_patterns)
           if route.startswith("api/") and cls is not None and cls.__module__.startswith("services.")]
    assert len(api) > 25
    assert [(route, cls.__name__) for route, cls in api if not issubclass(cls, ScopedApiView)] == []
