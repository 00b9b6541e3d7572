"""Registering, changing and removing sources (cameras, drones, patrol phones, sensors) and their zones."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from services.accounts.selectors import Actor
from services.catalog.models import Scenario
from services.core.errors import ApplicationError, Conflict
from services.sources import grabbers
from services.sources.models import Source
from services.sources.services.access import audit_change, audit_value, check_can_write
from services.sources.services.validation import check_enabled, check_url, check_zones, choice, coordinate, text

_SOURCE_FIELDS = ("name", "kind", "mode", "url", "latitude", "longitude", "address", "enabled")


@transaction.atomic
def source_create(
    *, actor: Actor, name: str, kind: str, mode: str, url: str = "", latitude=None, longitude=None,
    address: str = "", zones: list | None = None,
) -> Source:
    check_can_write(actor)
    if actor.bureau is None:
        raise ApplicationError("A source belongs to a bureau; your account has none.", code="no_bureau")
    mode = choice(mode, "mode", Source.Mode)
    source = Source.objects.create(
        bureau=actor.bureau,
        name=text(name, "name", max_length=200, required=True),
        kind=choice(kind, "kind", Source.Kind),
        mode=mode,
        url=check_url(mode, url),
        latitude=coordinate(latitude, "latitude", 90),
        longitude=coordinate(longitude, "longitude", 180),
        address=text(address, "address", max_length=300),
        zones=check_zones(zones),
    )
    audit_change(actor, source, "created", kind=source.kind, mode=source.mode, url=grabbers.masked_url(source.url))
    return source


@transaction.atomic
def source_update(*, actor: Actor, source: Source, **fields: Any) -> Source:
    check_can_write(actor, source)
    unknown = set(fields) - set(_SOURCE_FIELDS) - {"zones"}
    if unknown:
        raise ApplicationError(f"Cannot change {', '.join(sorted(unknown))}.", code="unknown_fields")
    source = Source.objects.select_for_update().get(pk=source.pk)
    if "zones" in fields:
        _set_zones(source, fields.pop("zones"))
    mode = choice(fields.get("mode", source.mode), "mode", Source.Mode)
    before = {name: audit_value(getattr(source, name), name) for name in fields}
    if "name" in fields:
        source.name = text(fields["name"], "name", max_length=200, required=True)
    if "kind" in fields:
        source.kind = choice(fields["kind"], "kind", Source.Kind)
    if "mode" in fields or "url" in fields:
        source.url = check_url(mode, fields.get("url", source.url if mode == source.mode else ""))
        source.mode = mode
        if mode == Source.Mode.PULL:
            _check_bindings_pullable(source)
    if "latitude" in fields:
        source.latitude = coordinate(fields["latitude"], "latitude", 90)
    if "longitude" in fields:
        source.longitude = coordinate(fields["longitude"], "longitude", 180)
    if "address" in fields:
        source.address = text(fields["address"], "address", max_length=300)
    if "enabled" in fields:
        source.enabled = check_enabled(fields["enabled"])
    if source.enabled and source.mode == Source.Mode.PULL and ("url" in fields or "enabled" in fields
                                                              or "mode" in fields):
        # A new address or a re-enabled camera is tried at the next tick, not after a long backoff.
        source.next_pull_at = timezone.now()
        source.consecutive_failures = 0
    source.save()
    after = {name: audit_value(getattr(source, name), name) for name in fields}
    audit_change(actor, source, "updated", before=before, after=after)
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
    check_can_write(actor, source)
    source = Source.objects.select_for_update().get(pk=source.pk)
    _set_zones(source, zones)
    source.save(update_fields=["zones", "updated_at"])
    audit_change(actor, source, "zones", zones=[z["name"] for z in source.zones])
    return source


@transaction.atomic
def source_delete(*, actor: Actor, source: Source) -> None:
    check_can_write(actor, source)
    audit_change(actor, source, "deleted", bindings=source.bindings.count())
    if source.last_frame:
        name = source.last_frame.name
        transaction.on_commit(lambda: source.last_frame.storage.delete(name))
    source.delete()
