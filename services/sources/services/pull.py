"""Pulling cameras: the beat claims the due ones, a worker grabs a frame and runs the due bindings;
failures back off and, repeated, mark the camera offline."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from services.core.errors import ApplicationError
from services.inference.inputs import check_image
from services.inference.models import InferenceRequest
from services.sources import grabbers, streams
from services.sources.models import Binding, Source
from services.sources.services.submit import run_bindings, store_frame

logger = logging.getLogger(__name__)

PULL_TASK = "services.sources.tasks.pull_source"


def pull_limits() -> grabbers.Limits:
    return grabbers.Limits(
        timeout_s=settings.CITYAI_SOURCES_TIMEOUT_SECONDS,
        max_bytes=settings.CITYAI_MAX_UPLOAD_BYTES,
        max_pixels=settings.CITYAI_MAX_IMAGE_PIXELS,
    )


def pull_backoff(failures: int) -> float:
    """Seconds before the next try after ``failures`` failed pulls in a row: base, 2×base … capped."""
    base = settings.CITYAI_SOURCES_BACKOFF_SECONDS
    return min(settings.CITYAI_SOURCES_BACKOFF_MAX_SECONDS, base * 2 ** max(0, failures - 1))


@dataclass
class PullOutcome:
    ok: bool
    error: str = ""
    requests: list[InferenceRequest] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _next_pull(source: Source, now: datetime) -> datetime:
    enabled = source.bindings.filter(enabled=True)
    if enabled.filter(next_run_at__isnull=True).exists():
        return now  # a binding added or re-enabled during the pull
    due = enabled.aggregate(at=Min("next_run_at"))["at"]
    idle = now + timedelta(seconds=settings.CITYAI_SOURCES_IDLE_PULL_SECONDS)
    return max(now, min(due, idle)) if due else idle


def keep_open_max_age(source: Source) -> float | None:
    """For an RTSP source whose shortest enabled binding interval is at most
    ``CITYAI_SOURCES_KEEP_OPEN_SECONDS``: that interval, the oldest a kept-open frame may be. None
    for every other source, which opens a session per pull (a long interval does not pay for a
    session held open and a stream decoded all the time)."""
    if urlsplit(source.url).scheme.lower() not in ("rtsp", "rtsps"):
        return None
    threshold = streams.setting(settings, "CITYAI_SOURCES_KEEP_OPEN_SECONDS", 30.0)
    shortest = source.bindings.filter(enabled=True).aggregate(at=Min("interval_s"))["at"]
    if shortest is None or shortest > threshold:
        return None
    return float(shortest)


def _grab(source: Source) -> grabbers.Frame:
    limits = pull_limits()
    max_age = keep_open_max_age(source)
    if max_age is not None:
        frame = streams.registry().frame(str(source.pk), source.url, limits=limits, max_age_s=max_age)
        if frame is not None:
            return frame
    return grabbers.grab(source.url, position=source.frame_position, limits=limits)


def source_pull(*, source_id, now: datetime | None = None) -> PullOutcome:
    """Grab one frame, keep it as the last frame, submit it for every due binding.

    ``now`` is the capture time (tests drive a simulated clock with it); bindings are due when their
    ``next_run_at`` is not after it. A failed grab counts towards offline and backs off; a binding's
    refusal (over quota …) is recorded on the binding and does not make the camera look broken.
    """
    now = now or timezone.now()
    source = Source.objects.select_related("bureau").filter(pk=source_id).first()
    if source is None or source.mode != Source.Mode.PULL or not source.enabled:
        return PullOutcome(ok=False, error="not a pulled, enabled source")
    try:
        frame = _grab(source)
    except grabbers.SourceUnavailable as exc:
        message = grabbers.redact(exc.message, source.url)
        _record_failure(source, message, now)
        return PullOutcome(ok=False, error=message)

    try:
        checked = check_image(frame.jpeg, "frame.jpg")
    except ApplicationError as exc:
        _record_failure(source, exc.message, now)
        return PullOutcome(ok=False, error=exc.message)
    outcome = PullOutcome(ok=True)
    with transaction.atomic():
        locked = Source.objects.select_for_update().select_related("bureau").filter(pk=source.pk).first()
        if locked is None:  # deleted while its frame was on the way
            return PullOutcome(ok=False, error="the source was deleted")
        store_frame(locked, frame.jpeg)
        locked.status = Source.Status.ONLINE
        locked.last_seen_at = now
        locked.last_error = ""
        locked.consecutive_failures = 0
        locked.frame_position = frame.next_position
        locked.save(update_fields=["last_frame", "status", "last_seen_at", "last_error", "consecutive_failures",
                                   "frame_position", "updated_at"])
        due = list(locked.bindings.select_related("scenario").filter(
            Q(next_run_at__isnull=True) | Q(next_run_at__lte=now), enabled=True
        ))
        for binding in due:
            Binding.objects.filter(pk=binding.pk).update(next_run_at=now + timedelta(seconds=binding.interval_s))
    submitted = run_bindings(source, due, checked, now)
    for binding in due:
        request = submitted[binding.pk]
        if request is not None:
            outcome.requests.append(request)
        else:
            outcome.refused[str(binding.pk)] = Binding.objects.values_list("last_error", flat=True).get(pk=binding.pk)
    Source.objects.filter(pk=source.pk).update(next_pull_at=_next_pull(source, now))
    return outcome


def _record_failure(source: Source, message: str, now: datetime) -> None:
    with transaction.atomic():
        locked = Source.objects.select_for_update().filter(pk=source.pk).first()
        if locked is None:
            return
        locked.consecutive_failures += 1
        locked.last_error = message[:2000]
        if locked.consecutive_failures >= settings.CITYAI_SOURCES_OFFLINE_AFTER:
            locked.status = Source.Status.OFFLINE
        locked.next_pull_at = now + timedelta(seconds=pull_backoff(locked.consecutive_failures))
        locked.save(update_fields=["consecutive_failures", "last_error", "status", "next_pull_at", "updated_at"])
    logger.warning("source %s pull failed (%s in a row): %s", source.pk, locked.consecutive_failures, message)


def sources_schedule_due(*, now: datetime | None = None) -> int:
    """Claim the pull sources that are due and enqueue one pull each; returns how many.

    The claim is a conditional UPDATE of ``next_pull_at`` (from the value read to now + the claim
    lease) that must change exactly one row, so two beats or a repeated tick never pull a camera
    twice; a pull lost with its worker is claimed again once the lease has passed. The pull is
    enqueued by task name, so the services do not import the tasks that call them.
    """
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.CITYAI_SOURCES_CLAIM_SECONDS)
    candidates = Source.objects.filter(
        Q(next_pull_at__isnull=True) | Q(next_pull_at__lte=now), mode=Source.Mode.PULL, enabled=True
    ).values_list("pk", "next_pull_at")[:500]
    claimed = 0
    for pk, seen in candidates:
        won = Source.objects.filter(pk=pk, next_pull_at=seen) if seen else Source.objects.filter(
            pk=pk, next_pull_at__isnull=True)
        if won.update(next_pull_at=lease) != 1:
            continue
        claimed += 1
        try:
            current_app.send_task(PULL_TASK, args=[str(pk)])
        except Exception:
            # The claim lapses after the lease and the source is tried again.
            logger.exception("could not enqueue the pull of source %s", pk)
    return claimed
