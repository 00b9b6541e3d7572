"""Registering, changing and removing sources (cameras, drones, patrol phones, sensors) and their zones."""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from services.accounts.selectors import Actor
from services.catalog.models import Scenario
from services.core.errors import ApplicationError, Conflict
from services.sources import grabbers
from services.sources.models import Source
from services.sources.services.access import audit_change, audit_value, check_can_write


@transaction.atomic
def source_create(
    *, actor: Actor, name: str, kind: str = Source.Kind.CAMERA, mode: str = Source.Mode.PULL, url: str = "",
    latitude: Decimal | None = None, longitude: Decimal | None = None, address: str = "", zones: list | None = None,
) -> Source:
    """A new source of the actor's bureau, from fields its input serializer (``SourceInput``) checked."""
    check_can_write(actor)
    if actor.bureau is None:
        raise ApplicationError("A source belongs to a bureau; your account has none.", code="no_bureau")
    source = Source.objects.create(
        bureau=actor.bureau, name=name, kind=kind, mode=mode, url=url, latitude=latitude, longitude=longitude,
        address=address, zones=zones or [],
    )
    audit_change(actor, source, "created", kind=source.kind, mode=source.mode, url=grabbers.masked_url(source.url))
    return source


@transaction.atomic
def source_update(*, actor: Actor, source: Source, **changes: Any) -> Source:
    """Change the fields given (checked by ``SourceUpdateInput``). A pulled source cannot keep bindings
    that need other input than images, nor lose a zone a binding uses."""
    check_can_write(actor, source)
    source = Source.objects.select_for_update().get(pk=source.pk)
    if "zones" in changes:
        _check_zones_kept(source, changes["zones"])
    audited = [name for name in changes if name != "zones"]
    before = {name: audit_value(getattr(source, name), name) for name in audited}
    for name, value in changes.items():
        setattr(source, name, value)
    if source.mode == Source.Mode.PULL and {"mode", "url"} & set(changes):
        _check_bindings_pullable(source)
    if source.enabled and source.mode == Source.Mode.PULL and {"mode", "url", "enabled"} & set(changes):
        # A new address or a re-enabled camera is tried at the next tick, not after a long backoff.
        source.next_pull_at = timezone.now()
        source.consecutive_failures = 0
    source.save()
    after = {name: audit_value(getattr(source, name), name) for name in audited}
    audit_change(actor, source, "updated", before=before, after=after)
    return source


def _check_bindings_pullable(source: Source) -> None:
    wrong = source.bindings.exclude(scenario__input_kind=Scenario.InputKind.IMAGE).select_related("scenario")
    if wrong:
        raise Conflict(
            "A pulled source gives images; remove its bindings of non-image scenarios first.",
            code="bindings_not_pullable", details={"bindings": [str(b.pk) for b in wrong]},
        )


def _check_zones_kept(source: Source, zones: list[dict]) -> None:
    names = {z["name"] for z in zones}
    orphans = [b for b in source.bindings.exclude(zone_name="") if b.zone_name not in names]
    if orphans:
        raise Conflict(
            "Bindings use zones that would disappear; change or delete them first.", code="zone_in_use",
            details={"zones": sorted({b.zone_name for b in orphans}), "bindings": [str(b.pk) for b in orphans]},
        )


@transaction.atomic
def source_zones_set(*, actor: Actor, source: Source, zones: list[dict]) -> Source:
    """Replace the source's zones (checked by ``ZonesInput``)."""
    check_can_write(actor, source)
    source = Source.objects.select_for_update().get(pk=source.pk)
    _check_zones_kept(source, zones)
    source.zones = zones
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
