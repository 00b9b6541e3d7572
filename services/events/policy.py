"""Per-scenario policy of events: severity, merge window and work-order SLA.

Until the catalog carries these per scenario, they come from here: an override per scenario slug,
else a default per domain, else the settings default. Kept as data in one module so that moving
it to catalog rows later changes one function each.
"""

from datetime import timedelta

from django.conf import settings

LOW, MEDIUM, HIGH = "low", "medium", "high"

# Domains where a missed alert can hurt people get "high"; a routing question is "low".
SEVERITY_BY_DOMAIN = {
    "public-safety": HIGH,
    "work-safety": HIGH,
    "ecology-environment": MEDIUM,
    "city-management": MEDIUM,
    "transport": MEDIUM,
    "grid-governance": LOW,
}
SEVERITY_BY_SCENARIO: dict[str, str] = {}

# Hours a bureau has from dispatch to resolution.
SLA_HOURS_BY_SEVERITY = {HIGH: 4, MEDIUM: 24, LOW: 72}
SLA_HOURS_BY_SCENARIO: dict[str, float] = {}

MERGE_MINUTES_BY_SCENARIO: dict[str, float] = {}


def severity_for(scenario) -> str:
    if scenario.slug in SEVERITY_BY_SCENARIO:
        return SEVERITY_BY_SCENARIO[scenario.slug]
    return SEVERITY_BY_DOMAIN.get(scenario.domain.slug, MEDIUM)


def merge_window(scenario) -> timedelta:
    minutes = MERGE_MINUTES_BY_SCENARIO.get(scenario.slug, settings.CITYAI_EVENT_MERGE_MINUTES)
    return timedelta(minutes=minutes)


def sla_for(scenario, severity: str) -> timedelta:
    hours = SLA_HOURS_BY_SCENARIO.get(scenario.slug)
    if hours is None:
        hours = SLA_HOURS_BY_SEVERITY.get(severity, settings.CITYAI_WORK_ORDER_SLA_HOURS)
    return timedelta(hours=hours)
