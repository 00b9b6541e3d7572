"""Reads of sources, bindings and what a source produced, always through the bureau scope.

A bureau's people (and its API clients) see the bureau's sources; auditors and platform admins see
all; another bureau's source or binding is a 404, as if it did not exist.
"""

from django.core.files import File
from django.db.models import Count, Q, QuerySet

from services.accounts.selectors import Actor, scope_to_actor
from services.core.errors import NotFound
from services.core.filters import filter_given
from services.events.models import Event
from services.inference.models import InferenceRequest
from services.sources.models import Binding, Source


def source_list(*, actor: Actor, status: str | None = None, kind: str | None = None,
                mode: str | None = None) -> QuerySet[Source]:
    """The sources the actor sees, narrowed by the filters given."""
    return filter_given(scope_to_actor(Source.objects.select_related("bureau"), actor), status=status, kind=kind,
                        mode=mode).annotate(
        binding_count=Count("bindings"), enabled_binding_count=Count("bindings", filter=Q(bindings__enabled=True)),
    ).order_by("bureau__slug", "name")


def source_get(*, actor: Actor, source_id) -> Source:
    source = scope_to_actor(Source.objects.select_related("bureau"), actor).filter(pk=source_id).first()
    if source is None:
        raise NotFound()
    return source


def source_frame_open(*, source: Source) -> File | None:
    """The source's last frame opened for reading; None when it has none yet (or its file is gone)."""
    if not source.last_frame:
        return None
    try:
        return source.last_frame.open("rb")
    except FileNotFoundError:
        return None


def binding_list(*, source: Source) -> QuerySet[Binding]:
    """The bindings of a source the caller already got through ``source_get``."""
    return source.bindings.select_related("scenario", "last_request").order_by("created_at")


def source_binding_get(*, source: Source, binding_id) -> Binding:
    """A binding of a source the caller already got through ``source_get``; another source's is a 404."""
    binding = source.bindings.select_related("scenario").filter(pk=binding_id).first()
    if binding is None:
        raise NotFound()
    return binding


def binding_get(*, actor: Actor, binding_id) -> Binding:
    binding = scope_to_actor(
        Binding.objects.select_related("source__bureau", "scenario", "last_request"), actor,
        bureau_field="source__bureau",
    ).filter(pk=binding_id).first()
    if binding is None:
        raise NotFound()
    return binding


def source_recent_requests(*, source: Source, limit: int = 20) -> QuerySet[InferenceRequest]:
    return InferenceRequest.objects.select_related("scenario").filter(
        bureau=source.bureau, source=source.request_source
    ).order_by("-created_at")[:limit]


def source_recent_events(*, source: Source, limit: int = 20) -> QuerySet[Event]:
    return Event.objects.select_related("scenario").filter(
        source_bureau=source.bureau, source=source.request_source
    ).order_by("-last_seen_at")[:limit]
