"""Writes for sources and bindings: register cameras and devices, pull them, take their pushes.

A pulled frame or pushed reading becomes an ordinary inference request of the owning bureau, so the
bureau's entitlements, quotas, budgets and fair sharing apply to cameras exactly as to people. The
request's ``source`` is ``source:<id>``, which the multi-frame rules and the events app key on.
"""

import hashlib
import hmac
import io
import logging
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from PIL import Image

from services.accounts.models import Membership
from services.accounts.selectors import Actor
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.catalog.models import Scenario
from services.catalog.selectors import scenario_get_runnable
from services.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from services.inference.inputs import CheckedInput, check_image, reject_nul
from services.inference.models import InferenceRequest
from services.inference.services import SubmitItem, inference_requests_submit, scenario_params_resolve
from services.sources import grabbers, streams
from services.sources.models import Binding, Source

logger = logging.getLogger(__name__)
Role = Membership.Role

DEVICE_KEY_PREFIX = "cad"
MIN_INTERVAL_S = 5
MAX_INTERVAL_S = 86_400
MAX_ZONES = 50
MAX_ZONE_POINTS = 100
_SOURCE_FIELDS = ("name", "kind", "mode", "url", "latitude", "longitude", "address", "enabled")
_BINDING_FIELDS = ("params", "zone_name", "interval_s", "enabled")


# --- permissions and audit ----------------------------------------------------------------------


def _check_can_write(actor: Actor, source: Source | None = None) -> None:
    """Managers of the owning bureau and platform admins change sources; operators and auditors read."""
    if actor.role == Role.PLATFORM_ADMIN:
        return
    if actor.role != Role.MANAGER or actor.api_client is not None:
        raise PermissionDenied("Only a bureau manager may change sources and their bindings.", code="not_manager")
    if source is not None and source.bureau_id != actor.bureau.pk:
        raise NotFound()


def _audit(actor: Actor, source: Source, change: str, **details: Any) -> None:
    audit_record(
        action=AuditEntry.Action.SOURCE_CHANGED, actor=actor.label, bureau=source.bureau.slug,
        object_type="source", object_id=source.pk, details={"change": change, "name": source.name, **details},
    )


def _jsonable(value: Any, name: str = "") -> Any:
    if name == "url":
        return grabbers.masked_url(value)  # the audit log is read by auditors, not camera admins
    return str(value) if isinstance(value, Decimal) else value


# --- validation ---------------------------------------------------------------------------------


def _text(value: Any, name: str, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApplicationError(f"{name} must be a string.", code=f"invalid_{name}")
    value = value.strip()
    reject_nul(value, name)
    if required and not value:
        raise ApplicationError(f"{name} is required.", code=f"missing_{name}")
    if len(value) > max_length or not value.isprintable():
        raise ApplicationError(f"{name} must be at most {max_length} printable characters.", code=f"invalid_{name}")
    return value


def _choice(value: Any, name: str, choices) -> str:
    if value not in choices.values:
        raise ApplicationError(f"{name} must be one of {', '.join(choices.values)}.", code=f"invalid_{name}")
    return value


def _coordinate(value: Any, name: str, limit: int) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ApplicationError(f"{name} must be a number.", code="invalid_coordinates")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ApplicationError(f"{name} must be a number.", code="invalid_coordinates") from None
    if not number.is_finite() or not -limit <= number <= limit:
        raise ApplicationError(f"{name} must lie between -{limit} and {limit}.", code="invalid_coordinates")
    return number.quantize(Decimal("0.000001"))


def video_root() -> Path:
    return Path(settings.CITYAI_SOURCES_VIDEO_ROOT).resolve()


def _check_url(mode: str, url: Any) -> str:
    url = _text(url, "url", max_length=500)
    if mode == Source.Mode.PUSH:
        if url:
            raise ApplicationError("A push source has no URL: its device sends frames with its key.",
                                   code="invalid_url")
        return ""
    if not url:
        raise ApplicationError("A pull source needs a URL (http(s)://, rtsp:// or file:///).", code="missing_url")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in grabbers.PULL_SCHEMES:
        raise ApplicationError("url must start with http://, https://, rtsp://, rtsps:// or file:///.",
                               code="invalid_url")
    if scheme == "file":
        try:
            path = grabbers.file_path(url).resolve()
        except grabbers.SourceUnavailable as exc:
            raise ApplicationError(exc.message, code="invalid_url") from None
        # Recorded videos only from the folder set aside for them: a manager must not make the
        # platform read arbitrary files of the server.
        if not path.is_relative_to(video_root()):
            raise ApplicationError(f"A video file source must lie under {video_root()}.", code="invalid_url")
    elif not parts.hostname:
        raise ApplicationError("url names no host.", code="invalid_url")
    return url


def check_zones(zones: Any) -> list[dict]:
    """Zones: [{"name", "polygon": [[x, y], …]}] with 0..1 coordinates, distinct names."""
    if zones is None:
        return []
    if not isinstance(zones, list) or len(zones) > MAX_ZONES:
        raise ApplicationError(f"zones must be a list of at most {MAX_ZONES} zones.", code="invalid_zones")
    checked, names = [], set()
    for index, zone in enumerate(zones):
        if not isinstance(zone, dict) or set(zone) - {"name", "polygon"}:
            raise ApplicationError(f"zone {index} must be an object with a name and a polygon.", code="invalid_zones")
        name = _text(zone.get("name"), "zone name", max_length=100, required=True)
        if name in names:
            raise ApplicationError(f"Two zones are named {name!r}.", code="invalid_zones")
        names.add(name)
        polygon = zone.get("polygon")
        if not isinstance(polygon, list) or not 3 <= len(polygon) <= MAX_ZONE_POINTS:
            raise ApplicationError(f"zone {name!r} needs a polygon of 3 to {MAX_ZONE_POINTS} points.",
                                   code="invalid_zones")
        points = []
        for point in polygon:
            if (not isinstance(point, list | tuple) or len(point) != 2
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
                    or not all(0 <= v <= 1 for v in point)):  # NaN fails the comparison too
                raise ApplicationError(f"zone {name!r}: every point is [x, y] with 0 ≤ x, y ≤ 1 (share of the frame).",
                                       code="invalid_zones")
            points.append([float(point[0]), float(point[1])])
        checked.append({"name": name, "polygon": points})
    return checked


# --- sources ------------------------------------------------------------------------------------


@transaction.atomic
def source_create(
    *, actor: Actor, name: str, kind: str, mode: str, url: str = "", latitude=None, longitude=None,
    address: str = "", zones: list | None = None,
) -> Source:
    _check_can_write(actor)
    if actor.bureau is None:
        raise ApplicationError("A source belongs to a bureau; your account has none.", code="no_bureau")
    mode = _choice(mode, "mode", Source.Mode)
    source = Source.objects.create(
        bureau=actor.bureau,
        name=_text(name, "name", max_length=200, required=True),
        kind=_choice(kind, "kind", Source.Kind),
        mode=mode,
        url=_check_url(mode, url),
        latitude=_coordinate(latitude, "latitude", 90),
        longitude=_coordinate(longitude, "longitude", 180),
        address=_text(address, "address", max_length=300),
        zones=check_zones(zones),
    )
    _audit(actor, source, "created", kind=source.kind, mode=source.mode, url=grabbers.masked_url(source.url))
    return source


@transaction.atomic
def source_update(*, actor: Actor, source: Source, **fields: Any) -> Source:
    _check_can_write(actor, source)
    unknown = set(fields) - set(_SOURCE_FIELDS) - {"zones"}
    if unknown:
        raise ApplicationError(f"Cannot change {', '.join(sorted(unknown))}.", code="unknown_fields")
    source = Source.objects.select_for_update().get(pk=source.pk)
    if "zones" in fields:
        _set_zones(source, fields.pop("zones"))
    mode = _choice(fields.get("mode", source.mode), "mode", Source.Mode)
    before = {name: _jsonable(getattr(source, name), name) for name in fields}
    if "name" in fields:
        source.name = _text(fields["name"], "name", max_length=200, required=True)
    if "kind" in fields:
        source.kind = _choice(fields["kind"], "kind", Source.Kind)
    if "mode" in fields or "url" in fields:
        source.url = _check_url(mode, fields.get("url", source.url if mode == source.mode else ""))
        source.mode = mode
        if mode == Source.Mode.PULL:
            _check_bindings_pullable(source)
    if "latitude" in fields:
        source.latitude = _coordinate(fields["latitude"], "latitude", 90)
    if "longitude" in fields:
        source.longitude = _coordinate(fields["longitude"], "longitude", 180)
    if "address" in fields:
        source.address = _text(fields["address"], "address", max_length=300)
    if "enabled" in fields:
        if not isinstance(fields["enabled"], bool):
            raise ApplicationError("enabled must be true or false.", code="invalid_enabled")
        source.enabled = fields["enabled"]
    if source.enabled and source.mode == Source.Mode.PULL and ("url" in fields or "enabled" in fields
                                                              or "mode" in fields):
        # A new address or a re-enabled camera is tried at the next tick, not after a long backoff.
        source.next_pull_at = timezone.now()
        source.consecutive_failures = 0
    source.save()
    after = {name: _jsonable(getattr(source, name), name) for name in fields}
    _audit(actor, source, "updated", before=before, after=after)
    return source


def _check_bindings_pullable(source: Source) -> None:
    wrong = source.bindings.exclude(scenario__input_kind=Scenario.InputKind.IMAGE).select_related("scenario")
    if wrong:
        raise Conflict(
            "A pulled source gives images; remove its bindings of non-image scenarios first.",
            code="bindings_not_pullable", details={"bindings": [str(b.pk) for b in wrong]},
        )


def _set_zones(source: Source, zones: Any) -> None:
    zones = check_zones(zones)
    names = {z["name"] for z in zones}
    orphans = [b for b in source.bindings.exclude(zone_name="") if b.zone_name not in names]
    if orphans:
        raise Conflict(
            "Bindings use zones that would disappear; change or delete them first.", code="zone_in_use",
            details={"zones": sorted({b.zone_name for b in orphans}), "bindings": [str(b.pk) for b in orphans]},
        )
    source.zones = zones


@transaction.atomic
def source_zones_set(*, actor: Actor, source: Source, zones: Any) -> Source:
    _check_can_write(actor, source)
    source = Source.objects.select_for_update().get(pk=source.pk)
    _set_zones(source, zones)
    source.save(update_fields=["zones", "updated_at"])
    _audit(actor, source, "zones", zones=[z["name"] for z in source.zones])
    return source


@transaction.atomic
def source_delete(*, actor: Actor, source: Source) -> None:
    _check_can_write(actor, source)
    _audit(actor, source, "deleted", bindings=source.bindings.count())
    if source.last_frame:
        name = source.last_frame.name
        transaction.on_commit(lambda: source.last_frame.storage.delete(name))
    source.delete()


# --- device keys --------------------------------------------------------------------------------


def _hash_key(key: str) -> str:
    # A plain SHA-256 suffices, as for API keys: the secret is random and long.
    return hashlib.sha256(key.encode()).hexdigest()


def parse_device_prefix(key: str) -> str | None:
    parts = (key or "").split("_", 2)
    if len(parts) != 3 or parts[0] != DEVICE_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


@transaction.atomic
def source_device_key_issue(*, actor: Actor, source: Source) -> tuple[Source, str]:
    """A new device key, shown once; any earlier key of the source stops working at once."""
    _check_can_write(actor, source)
    source = Source.objects.select_for_update().get(pk=source.pk)
    previous = source.key_prefix
    prefix = secrets.token_hex(4)
    key = f"{DEVICE_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    source.key_prefix, source.key_hash = prefix, _hash_key(key)
    source.save(update_fields=["key_prefix", "key_hash", "updated_at"])
    audit_record(
        action=AuditEntry.Action.DEVICE_KEY_ISSUED, actor=actor.label, bureau=source.bureau.slug,
        object_type="source", object_id=source.pk,
        details={"name": source.name, "prefix": prefix, "replaces": previous or None},
    )
    return source, key


@transaction.atomic
def source_device_key_revoke(*, actor: Actor, source: Source) -> Source:
    _check_can_write(actor, source)
    source = Source.objects.select_for_update().get(pk=source.pk)
    if source.key_hash:
        previous = source.key_prefix
        source.key_prefix, source.key_hash = "", ""
        source.save(update_fields=["key_prefix", "key_hash", "updated_at"])
        audit_record(
            action=AuditEntry.Action.DEVICE_KEY_REVOKED, actor=actor.label, bureau=source.bureau.slug,
            object_type="source", object_id=source.pk, details={"name": source.name, "prefix": previous},
        )
    return source


def source_for_device_key(*, key: str) -> Source | None:
    """The source a device key belongs to, or None (unknown, malformed or replaced key)."""
    prefix = parse_device_prefix(key)
    if prefix is None:
        return None
    source = Source.objects.select_related("bureau").filter(key_prefix=prefix).first()
    if source is None or not source.key_hash or not hmac.compare_digest(_hash_key(key), source.key_hash):
        return None
    return source


# --- bindings -----------------------------------------------------------------------------------


def _binding_params(source: Source, scenario: Scenario, params: Any, zone_name: str) -> dict[str, Any]:
    """Check params against the scenario (with the named zone injected); return what was given."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ApplicationError("params must be a JSON object.", code="invalid_params")
    reject_nul(params, "params")
    if zone_name:
        if "zone" in params:
            raise ApplicationError("Give either zone_name or params.zone, not both.", code="invalid_params")
        if "zone" not in scenario.params_schema.get("properties", {}):
            raise ApplicationError(f"Scenario {scenario.slug!r} takes no zone.", code="invalid_zone_name")
        if source.zone(zone_name) is None:
            raise ApplicationError(f"The source has no zone {zone_name!r}.", code="invalid_zone_name",
                                   details={"zones": [z["name"] for z in source.zones]})
    scenario_params_resolve(scenario=scenario, params=_with_zone(source, params, zone_name))
    return params


def _with_zone(source: Source, params: dict, zone_name: str) -> dict:
    zone = source.zone(zone_name) if zone_name else None
    return {**params, "zone": zone["polygon"]} if zone else dict(params)


def _interval(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value != int(value):
        raise ApplicationError("interval_s must be a whole number of seconds.", code="invalid_interval")
    if not MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        raise ApplicationError(f"interval_s must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S}.",
                               code="invalid_interval")
    return int(value)


def _check_kind(source: Source, scenario: Scenario) -> None:
    if source.mode == Source.Mode.PULL and scenario.input_kind != Scenario.InputKind.IMAGE:
        raise ApplicationError(
            f"A pulled source gives images; scenario {scenario.slug!r} takes {scenario.input_kind}.",
            code="wrong_input_kind",
        )
    if scenario.input_kind not in (Scenario.InputKind.IMAGE, Scenario.InputKind.SERIES):
        raise ApplicationError("Sources send images or sensor series; this scenario takes neither.",
                               code="wrong_input_kind")


def _wake(source: Source, at: datetime) -> None:
    """Bring the source's next pull forward to ``at`` if it was later (never postpone a pull)."""
    Source.objects.filter(pk=source.pk).filter(Q(next_pull_at__isnull=True) | Q(next_pull_at__gt=at)).update(
        next_pull_at=at
    )


@transaction.atomic
def binding_create(
    *, actor: Actor, source: Source, scenario_slug: str, params: Any = None, zone_name: str = "", interval_s: Any = 60,
) -> Binding:
    _check_can_write(actor, source)
    if not isinstance(scenario_slug, str) or not scenario_slug.strip():
        raise ApplicationError("scenario is required (a scenario slug).", code="missing_scenario")
    scenario, _ = scenario_get_runnable(slug=scenario_slug.strip(), bureau=source.bureau)
    _check_kind(source, scenario)
    zone_name = _text(zone_name, "zone_name", max_length=100)
    binding = Binding.objects.create(
        source=source, scenario=scenario, params=_binding_params(source, scenario, params, zone_name),
        zone_name=zone_name, interval_s=_interval(interval_s), next_run_at=None,  # due at the next pull
    )
    if source.mode == Source.Mode.PULL:
        _wake(source, timezone.now())
    _audit(actor, source, "binding_created", binding=str(binding.pk), scenario=scenario.slug,
           params=binding.params, zone_name=zone_name, interval_s=binding.interval_s)
    return binding


@transaction.atomic
def binding_update(*, actor: Actor, binding: Binding, **fields: Any) -> Binding:
    source = binding.source
    _check_can_write(actor, source)
    unknown = set(fields) - set(_BINDING_FIELDS)
    if unknown:
        raise ApplicationError(f"Cannot change {', '.join(sorted(unknown))}.", code="unknown_fields")
    binding = Binding.objects.select_for_update().select_related("scenario", "source").get(pk=binding.pk)
    before = {name: getattr(binding, name) for name in fields}
    zone_name = _text(fields.get("zone_name", binding.zone_name), "zone_name", max_length=100)
    params = fields.get("params", binding.params)
    binding.params = _binding_params(binding.source, binding.scenario, params, zone_name)
    binding.zone_name = zone_name
    if "interval_s" in fields:
        binding.interval_s = _interval(fields["interval_s"])
        binding.next_run_at = None
    if "enabled" in fields:
        if not isinstance(fields["enabled"], bool):
            raise ApplicationError("enabled must be true or false.", code="invalid_enabled")
        if fields["enabled"] and not binding.enabled:
            binding.next_run_at = None
        binding.enabled = fields["enabled"]
    binding.save()
    if binding.enabled and binding.source.mode == Source.Mode.PULL and binding.next_run_at is None:
        _wake(binding.source, timezone.now())
    _audit(actor, source, "binding_updated", binding=str(binding.pk), scenario=binding.scenario.slug,
           before=before, after={name: getattr(binding, name) for name in fields})
    return binding


@transaction.atomic
def binding_delete(*, actor: Actor, binding: Binding) -> None:
    _check_can_write(actor, binding.source)
    _audit(actor, binding.source, "binding_deleted", binding=str(binding.pk), scenario=binding.scenario.slug)
    binding.delete()


# --- submitting frames --------------------------------------------------------------------------


def source_actor(source: Source) -> Actor:
    """The source acting for its bureau: it submits like an operator, labelled as itself."""
    return Actor(bureau=source.bureau, role=Role.OPERATOR, service=source.request_source)


def _run_bindings(source: Source, bindings: list[Binding], checked: CheckedInput,
                  at: datetime) -> dict[int, InferenceRequest | None]:
    """Submit one frame (or reading) for several bindings: the bindings of one scenario go in one
    batch (one quota statement, one INSERT, one announcement), each still its own request. A refusal
    (quota, entitlement withdrawn …) is the binding's, recorded on it, not the source's."""
    out: dict[int, InferenceRequest | None] = {}
    by_scenario: dict[str, list[Binding]] = {}
    for binding in bindings:
        by_scenario.setdefault(binding.scenario.slug, []).append(binding)
    for slug, group in by_scenario.items():
        items = [SubmitItem(checked=checked, params=_with_zone(source, b.params, b.zone_name),
                            source=source.request_source, captured_at=at) for b in group]
        try:
            inference_requests_submit(actor=source_actor(source), scenario_slug=slug, items=items)
        except ApplicationError as exc:
            for item in items:
                item.error = exc
        for binding, item in zip(group, items, strict=True):
            out[binding.pk] = item.request
            if item.request is None:
                exc = item.error
                logger.info("source %s binding %s refused: %s", source.pk, binding.pk, exc.message)
                Binding.objects.filter(pk=binding.pk).update(last_run_at=at,
                                                             last_error=f"{exc.code}: {exc.message}"[:2000])
            else:
                Binding.objects.filter(pk=binding.pk).update(last_run_at=at, last_request=item.request, last_error="")
    return out


# --- pulling ------------------------------------------------------------------------------------


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


def _store_frame(source: Source, jpeg: bytes) -> None:
    # One file per source: a storage that renames on collision leaves the old one, removed once the
    # row points at the new one.
    old = source.last_frame.name if source.last_frame else ""
    source.last_frame.save("frame.jpg", ContentFile(jpeg), save=False)
    if old and old != source.last_frame.name:
        storage = source.last_frame.storage
        transaction.on_commit(lambda: storage.delete(old))


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
        _store_frame(locked, frame.jpeg)
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
    submitted = _run_bindings(source, due, checked, now)
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
    twice; a pull lost with its worker is claimed again once the lease has passed.
    """
    from services.sources.tasks import pull_source

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
            pull_source.delay(str(pk))
        except Exception:
            # The claim lapses after the lease and the source is tried again.
            logger.exception("could not enqueue the pull of source %s", pk)
    return claimed


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


# --- pushing ------------------------------------------------------------------------------------


def _check_push_time(captured_at: datetime | None, now: datetime) -> datetime:
    if captured_at is None:
        return now
    if timezone.is_naive(captured_at):
        raise ApplicationError("captured_at needs a time zone.", code="invalid_captured_at")
    if captured_at > now + timedelta(seconds=settings.CITYAI_CAPTURE_CLOCK_SKEW_SECONDS):
        raise ApplicationError("captured_at lies in the future.", code="invalid_captured_at")
    if captured_at < now - timedelta(seconds=settings.CITYAI_DEVICE_MAX_CAPTURE_AGE_SECONDS):
        raise ApplicationError(
            f"captured_at is older than {settings.CITYAI_DEVICE_MAX_CAPTURE_AGE_SECONDS} s; "
            "send old recordings as ordinary requests.", code="invalid_captured_at",
        )
    return captured_at


def device_push_for_source(
    *, source: Source, checked: CheckedInput, captured_at: datetime | None = None
) -> list[InferenceRequest]:
    now = timezone.now()
    at = _check_push_time(captured_at, now)
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
    submitted = _run_bindings(source, matching, checked, at)
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
            _store_frame(locked, _as_jpeg(checked))
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
