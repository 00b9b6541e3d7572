"""Reads of the catalog."""

from django.db.models import QuerySet

from services.accounts.models import Bureau
from services.catalog.models import Entitlement, Scenario
from services.core import configcache
from services.core.errors import ApplicationError, NotFound, PermissionDenied


def scenario_list(*, include_inactive: bool = True) -> QuerySet[Scenario]:
    qs = Scenario.objects.select_related("domain", "owner_bureau")
    if not include_inactive:
        qs = qs.filter(status=Scenario.Status.ACTIVE)
    return qs


def scenario_get(*, slug: str) -> Scenario:
    scenario = Scenario.objects.select_related("domain").filter(slug=slug).first()
    if scenario is None:
        raise NotFound(f"Unknown scenario {slug!r}.", code="unknown_scenario")
    return scenario


def scenario_get_active(*, slug: str) -> Scenario:
    """An active scenario by slug, from the per-process configuration cache (the submit path reads
    it on every call; catalog changes invalidate it, see services/core/configcache.py)."""
    scenario = configcache.cached(
        ("scenario", slug), lambda: Scenario.objects.select_related("domain").filter(slug=slug).first()
    )
    if scenario is None:
        raise NotFound(f"Unknown scenario {slug!r}.", code="unknown_scenario")
    _require_active(scenario)
    return scenario


def _require_active(scenario: Scenario) -> None:
    if scenario.status != Scenario.Status.ACTIVE:
        raise ApplicationError(
            f"Scenario {scenario.slug!r} is not available ({scenario.get_status_display()}).",
            code="scenario_unavailable",
            status=409,
        )


def scenario_get_runnable(*, slug: str, bureau: Bureau) -> tuple[Scenario, Entitlement]:
    """The scenario and the bureau's entitlement to it, or the reason it cannot run."""
    scenario = scenario_get(slug=slug)
    _require_active(scenario)
    entitlement = Entitlement.objects.filter(bureau=bureau, scenario=scenario, enabled=True).first()
    if entitlement is None:
        raise PermissionDenied(
            f"Your bureau is not entitled to scenario {slug!r}; ask a platform admin.", code="not_entitled"
        )
    return scenario, entitlement
