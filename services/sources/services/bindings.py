"""Bindings: which scenario runs on a source, with which params and zone, how often."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from services.accounts.selectors import Actor
from services.catalog.models import Scenario
from services.catalog.selectors import scenario_get_runnable
from services.core.errors import ApplicationError
from services.inference.services import scenario_params_resolve
from services.sources.models import Binding, Source
from services.sources.services.access import audit_change, check_can_write


def _binding_params(source: Source, scenario: Scenario, params: dict[str, Any], zone_name: str) -> dict[str, Any]:
    """Check params against the scenario (with the named zone injected); return what was given."""
    if zone_name:
        if "zone" in params:
            raise ApplicationError("Give either zone_name or params.zone, not both.", code="invalid_params")
        if "zone" not in scenario.params_schema.get("properties", {}):
            raise ApplicationError(f"Scenario {scenario.slug!r} takes no zone.", code="invalid_zone_name")
        if source.zone(zone_name) is None:
            raise ApplicationError(f"The source has no zone {zone_name!r}.", code="invalid_zone_name",
                                   details={"zones": [z["name"] for z in source.zones]})
    scenario_params_resolve(scenario=scenario, params=with_zone(source, params, zone_name))
    return params


def with_zone(source: Source, params: dict, zone_name: str) -> dict:
    """A binding's params as submitted: its zone's polygon given as ``params["zone"]``."""
    zone = source.zone(zone_name) if zone_name else None
    return {**params, "zone": zone["polygon"]} if zone else dict(params)


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
    *, actor: Actor, source: Source, scenario_slug: str, params: dict | None = None, zone_name: str = "",
    interval_s: int = 60,
) -> Binding:
    """Run a scenario the bureau may use on the source (fields checked by ``BindingInput``)."""
    check_can_write(actor, source)
    scenario, _ = scenario_get_runnable(slug=scenario_slug, bureau=source.bureau)
    _check_kind(source, scenario)
    binding = Binding.objects.create(
        source=source, scenario=scenario, params=_binding_params(source, scenario, params or {}, zone_name),
        zone_name=zone_name, interval_s=interval_s, next_run_at=None,  # due at the next pull
    )
    if source.mode == Source.Mode.PULL:
        _wake(source, timezone.now())
    audit_change(actor, source, "binding_created", binding=str(binding.pk), scenario=scenario.slug,
                 params=binding.params, zone_name=zone_name, interval_s=binding.interval_s)
    return binding


@transaction.atomic
def binding_update(*, actor: Actor, binding: Binding, **changes: Any) -> Binding:
    """Change the fields given (checked by ``BindingUpdateInput``); params and zone are checked together
    against the scenario. A new interval or a re-enabled binding runs at the next pull."""
    source = binding.source
    check_can_write(actor, source)
    binding = Binding.objects.select_for_update().select_related("scenario", "source").get(pk=binding.pk)
    before = {name: getattr(binding, name) for name in changes}
    zone_name = changes.get("zone_name", binding.zone_name)
    params = changes.get("params", binding.params) or {}
    binding.params = _binding_params(binding.source, binding.scenario, params, zone_name)
    binding.zone_name = zone_name
    if "interval_s" in changes:
        binding.interval_s = changes["interval_s"]
        binding.next_run_at = None
    if "enabled" in changes:
        if changes["enabled"] and not binding.enabled:
            binding.next_run_at = None
        binding.enabled = changes["enabled"]
    binding.save()
    if binding.enabled and binding.source.mode == Source.Mode.PULL and binding.next_run_at is None:
        _wake(binding.source, timezone.now())
    audit_change(actor, source, "binding_updated", binding=str(binding.pk), scenario=binding.scenario.slug,
                 before=before, after={name: getattr(binding, name) for name in changes})
    return binding


@transaction.atomic
def binding_delete(*, actor: Actor, binding: Binding) -> None:
    check_can_write(actor, binding.source)
    audit_change(actor, binding.source, "binding_deleted", binding=str(binding.pk), scenario=binding.scenario.slug)
    binding.delete()
