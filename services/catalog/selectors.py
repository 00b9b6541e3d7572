"""Reads of the catalog. The catalog itself (domains, scenarios) is public to every portal user;
entitlements are a bureau's, so they go through the one scoping rule."""

from django.db.models import Count, Q, QuerySet

from services.accounts.models import Bureau
from services.accounts.selectors import Actor, scope_to_actor
from services.catalog.models import Domain, Entitlement, Scenario
from services.core import configcache
from services.core.errors import ApplicationError, NotFound, PermissionDenied
from services.core.filters import filter_given


def scenario_list(*, include_inactive: bool = True) -> QuerySet[Scenario]:
    qs = Scenario.objects.select_related("domain", "owner_bureau")
    if not include_inactive:
        qs = qs.filter(status=Scenario.Status.ACTIVE)
    return qs


def scenario_search(*, q: str = "", domain: str = "", input_kind: str = "", status: str = "") -> QuerySet[Scenario]:
    """The catalog narrowed by the list page's filters; the text search covers both languages."""
    qs = filter_given(scenario_list(), domain__slug=domain, input_kind=input_kind, status=status)
    if q:
        qs = qs.filter(
            Q(name_zh__icontains=q) | Q(name_en__icontains=q) | Q(slug__icontains=q)
            | Q(description_zh__icontains=q) | Q(description_en__icontains=q)
            | Q(method_zh__icontains=q) | Q(method_en__icontains=q)
        )
    return qs


def scenarios_using_model(name: str) -> list[Scenario]:
    """The scenarios that call a Triton model (its licence page lists them)."""
    return [scenario for scenario in scenario_list() if name in (scenario.model_names or [])]


def domain_list(*, with_counts: bool = False) -> QuerySet[Domain]:
    """Domains in menu order; ``with_counts`` adds ``total``, the number of scenarios in each."""
    qs = Domain.objects.order_by("order", "slug")
    return qs.annotate(total=Count("scenarios")) if with_counts else qs


def entitlement_list(*, actor: Actor, enabled: bool | None = None) -> QuerySet[Entitlement]:
    """The entitlements of the actor's own bureau (none for an actor without one, auditors included:
    they read usage in the reports, not here)."""
    if actor.bureau is None:
        return Entitlement.objects.none()
    qs = scope_to_actor(Entitlement.objects.select_related("scenario"), actor).filter(bureau=actor.bureau)
    return filter_given(qs, enabled=enabled)


def entitlement_for(*, actor: Actor, scenario: Scenario) -> Entitlement | None:
    """The actor's bureau's entitlement to one scenario, enabled or not; None without one."""
    return entitlement_list(actor=actor).filter(scenario=scenario).first()


def scenario_get(*, slug: str) -> Scenario:
    scenario = Scenario.objects.select_related("domain").filter(slug=slug).first()
    if scenario is None:
        raise NotFound(f"Unknown scenario {slug!r}.", code="unknown_scenario")
    return scenario


def scenario_status(*, scenario_id) -> str:
    """The status as stored now (read past the per-process cache)."""
    return Scenario.objects.filter(pk=scenario_id).values_list("status", flat=True).get()


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
