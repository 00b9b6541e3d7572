"""Pushes: a device sends one frame or reading with its key; a device that stops pushing goes offline."""

import io
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image

from services.catalog.models import Scenario
from services.core.errors import ApplicationError, Conflict
from services.inference.inputs import CheckedInput, check_captured_at
from services.inference.models import InferenceRequest
from services.sources.models import Binding, Source
from services.sources.services.submit import run_bindings, store_frame


def device_push_for_source(
    *, source: Source, checked: CheckedInput, captured_at: datetime | None = None
) -> list[InferenceRequest]:
    # Old recordings go as ordinary requests: a push reports what a device sees now.
    check_captured_at(captured_at, max_age_s=settings.CITYAI_DEVICE_MAX_CAPTURE_AGE_SECONDS)
    now = timezone.now()
    at = captured_at or now
    if not source.enabled:
        raise Conflict("This source is disabled; a manager can enable it again.", code="source_disabled")
    bindings = list(source.bindings.select_related("scenario").filter(enabled=True))
    matching = [b for b in bindings if b.scenario.input_kind == checked.kind]
    if not matching:
        raise ApplicationError(
            f"No enabled binding of this source takes {checked.kind} input.", code="no_matching_binding",
            status=422, details={"bindings": {str(b.pk): b.scenario.input_kind for b in bindings}},
        )
    requests, refusals = [], {}
    submitted = run_bindings(source, matching, checked, at)
    for binding in matching:
        request = submitted[binding.pk]
        if request is None:
            refusals[binding.scenario.slug] = Binding.objects.values_list("last_error", flat=True).get(pk=binding.pk)
        else:
            requests.append(request)
    if not requests:
        # Every binding refused (over quota …): the device must hear it, not get an empty 202.
        raise Conflict("No binding accepted the push.", code="push_refused", details={"refused": refusals})
    with transaction.atomic():
        locked = Source.objects.select_for_update().get(pk=source.pk)
        if checked.kind == Scenario.InputKind.IMAGE and checked.content is not None:
            store_frame(locked, _as_jpeg(checked))
        locked.status = Source.Status.ONLINE
        locked.last_seen_at = now
        locked.last_error = ""
        locked.consecutive_failures = 0
        locked.save(update_fields=["last_frame", "status", "last_seen_at", "last_error", "consecutive_failures",
                                   "updated_at"])
    return requests


def _as_jpeg(checked: CheckedInput) -> bytes:
    """The portal shows the last frame as JPEG; a PNG, WebP or BMP push is re-encoded for it."""
    if checked.extension in ("jpg", "jpeg"):
        return checked.content
    out = io.BytesIO()
    with Image.open(io.BytesIO(checked.content)) as img:
        img.convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


def sources_mark_silent(*, now: datetime | None = None) -> int:
    """Mark push sources offline when they have not pushed for ``CITYAI_SOURCES_PUSH_SILENCE_SECONDS``
    (a drone or phone that stopped reporting fails silently: silence is its failure); returns how
    many. The next push brings a source back online."""
    now = now or timezone.now()
    silence = settings.CITYAI_SOURCES_PUSH_SILENCE_SECONDS
    cutoff = now - timedelta(seconds=silence)
    silent = Source.objects.filter(mode=Source.Mode.PUSH, enabled=True, status=Source.Status.ONLINE,
                                   last_seen_at__lt=cutoff)
    return silent.update(
        status=Source.Status.OFFLINE, updated_at=now,
        last_error=f"no push for more than {silence // 60} min",
    )
