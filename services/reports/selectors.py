"""Report figures, computed from the daily aggregates only (never from request rows).

Who sees what: auditors and platform admins see every bureau and may pick one; a bureau manager
sees their own bureau (naming another is a 404, as for any other bureau's object); operators and
API clients get no reports. The bureau filter itself is the one scoping rule, ``scope_to_actor``.
"""

import calendar
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.db.models import Sum, TextField
from django.db.models.functions import Cast
from django.utils.translation import get_language

from services.accounts.models import Bureau, Membership
from services.accounts.selectors import Actor, bureau_get, scope_to_actor
from services.catalog.models import Domain, Entitlement, Scenario
from services.core.errors import ApplicationError, NotFound, PermissionDenied
from services.events.selectors import ScenarioOutcome, event_outcomes
from services.reports import metering
from services.reports.models import UsageDaily
from services.reports.services import day_bounds

Role = Membership.Role
REPORT_ROLES = (Role.AUDITOR, Role.PLATFORM_ADMIN, Role.MANAGER)
PERIODS = ("day", "month")
# The longest range one report covers: a year of days stays a few hundred thousand aggregate rows.
MAX_DAYS = 366


def actor_can_see_reports(actor: Actor | None) -> bool:
    return actor is not None and actor.role in REPORT_ROLES and (actor.sees_all_bureaus or actor.bureau is not None)


def _check_access(actor: Actor) -> None:
    if not actor_can_see_reports(actor):
        raise PermissionDenied("Usage reports are for auditors and bureau managers.", code="reports_forbidden")


@dataclass
class Figures:
    """Sums over a set of aggregate rows, and the figures that follow from them."""

    key: str
    label: str
    requests: int = 0
    succeeded: int = 0
    failed: int = 0
    alerts: int = 0
    compute_ms: float = 0.0
    queue_ms: float = 0.0
    latency_ms: float = 0.0
    input_bytes: int = 0
    hist: list[int] = field(default_factory=metering.empty)
    platform_compute_ms: float = 0.0

    def set_sums(self, counts, sums, hist) -> None:
        """Take the sums of one group (see ``_Rows``)."""
        self.requests, self.succeeded, self.failed, self.alerts, self.input_bytes = (int(v) for v in counts)
        self.compute_ms, self.queue_ms, self.latency_ms = (float(v) for v in sums)
        self.hist = [int(v) for v in hist]

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.requests if self.requests else None

    @property
    def alert_rate(self) -> float | None:
        return self.alerts / self.succeeded if self.succeeded else None

    @property
    def p50_ms(self) -> float | None:
        return metering.percentile(self.hist, 0.50)

    @property
    def p95_ms(self) -> float | None:
        return metering.percentile(self.hist, 0.95)

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_ms / self.succeeded if self.succeeded else None

    @property
    def mean_queue_ms(self) -> float | None:
        return self.queue_ms / self.requests if self.requests else None

    @property
    def compute_s(self) -> float:
        return self.compute_ms / 1000

    @property
    def compute_share(self) -> float | None:
        """Share of all compute the shared platform spent in the period (the chargeback key)."""
        return self.compute_ms / self.platform_compute_ms if self.platform_compute_ms else None


@dataclass
class QuotaUse:
    """One bureau × scenario: requests against its daily quota and compute against its budget.

    The quota counts requests accepted per day; these figures count finished requests, which is
    the same apart from the few still running at midnight.
    """

    bureau: Bureau
    scenario: Scenario
    daily_quota: int | None
    monthly_compute_budget_s: int | None
    days: int
    requests: int = 0
    peak_day_requests: int = 0
    days_over_quota: int = 0
    compute_ms: float = 0.0
    budget_s: float = 0.0

    @property
    def quota_use(self) -> float | None:
        if not self.daily_quota:
            return None
        return self.requests / (self.daily_quota * self.days)

    @property
    def peak_day_use(self) -> float | None:
        return self.peak_day_requests / self.daily_quota if self.daily_quota else None

    @property
    def compute_s(self) -> float:
        return self.compute_ms / 1000

    @property
    def budget_use(self) -> float | None:
        return self.compute_s / self.budget_s if self.budget_s else None


@dataclass
class OutcomeRow:
    """A scenario's measured outcome in the period, with the scenario row for its name."""

    scenario: Scenario
    figures: ScenarioOutcome


@dataclass
class UsageReport:
    first: date
    last: date
    period: str
    bureau: Bureau | None
    domain: Domain | None
    scenario: Scenario | None
    total: Figures
    by_bureau: list[Figures]
    by_scenario: list[Figures]
    by_domain: list[Figures]
    by_period: list[Figures]
    quota: list[QuotaUse]
    platform_compute_ms: float
    # Event precision (confirmed / reviewed) and work-order response times per scenario, measured
    # by the events app from review rows and work orders (services.events.selectors.event_outcomes).
    outcomes: list[OutcomeRow] = field(default_factory=list)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def month_range(month: str) -> tuple[date, date]:
    """``2026-11`` → (2026-11-01, 2026-11-30)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise ApplicationError(f"month must look like 2026-11, got {month!r}.", code="invalid_month") from None
    return first, date(year, number, calendar.monthrange(year, number)[1])


def check_range(first: date, last: date) -> None:
    if last < first:
        raise ApplicationError("The end of the period is before its start.", code="invalid_period")
    if (last - first).days + 1 > MAX_DAYS:
        raise ApplicationError(f"A report covers at most {MAX_DAYS} days.", code="period_too_long")


def _period_key(day: date, period: str) -> str:
    return day.isoformat() if period == "day" else f"{day:%Y-%m}"


def _period_keys(first: date, last: date, period: str) -> list[str]:
    keys, day = [], first
    while day <= last:
        key = _period_key(day, period)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


_JSON_LIST_PUNCTUATION = str.maketrans("[],", "   ")


class _Rows:
    """The period's aggregate rows as numpy arrays, so that summing thousands of rows (and their
    50-bucket histograms) into groups is a few vector operations rather than a Python loop per row."""

    COUNTS = ("requests", "succeeded", "failed", "alerts", "input_bytes")
    SUMS = ("compute_ms", "queue_ms", "latency_ms")

    def __init__(self, rows: list[tuple]) -> None:
        # rows: (day, bureau_id, scenario_id, *COUNTS, *SUMS, latency_hist as JSON text)
        self.keys = [(r[0], r[1], r[2]) for r in rows]
        n = len(rows)
        self.counts = np.array([r[3:8] for r in rows], dtype=np.int64).reshape(n, len(self.COUNTS))
        self.sums = np.array([r[8:11] for r in rows], dtype=np.float64).reshape(n, len(self.SUMS))
        self.hists = self._histograms([r[11] for r in rows])

    @staticmethod
    def _histograms(texts: list[str]) -> np.ndarray:
        """Parse all histograms in one go (decoding thousands of small JSON lists one by one costs
        more than the whole rest of the report); rows of another length are read one by one."""
        flat = " ".join(texts).translate(_JSON_LIST_PUNCTUATION).split()
        if len(flat) == len(texts) * metering.BUCKETS:
            return np.array(flat, dtype=np.int64).reshape(len(texts), metering.BUCKETS)
        hists = np.zeros((len(texts), metering.BUCKETS), dtype=np.int64)
        for i, text in enumerate(texts):
            values = json.loads(text or "[]")[: metering.BUCKETS]
            hists[i, : len(values)] = values
        return hists

    def group(self, key: Callable[[tuple], str], label: Callable[[str], str], platform_ms: float,
              keys: Iterable[str] = ()) -> list[Figures]:
        order = {k: i for i, k in enumerate(keys)}
        codes = np.empty(len(self.keys), dtype=np.int64)
        for i, row_key in enumerate(self.keys):
            codes[i] = order.setdefault(key(row_key), len(order))
        size = len(order)
        counts = np.zeros((size, self.counts.shape[1]), dtype=np.int64)
        sums = np.zeros((size, self.sums.shape[1]), dtype=np.float64)
        hists = np.zeros((size, metering.BUCKETS), dtype=np.int64)
        np.add.at(counts, codes, self.counts)
        np.add.at(sums, codes, self.sums)
        np.add.at(hists, codes, self.hists)
        result = []
        for k, i in order.items():
            figures = Figures(k, label(k), platform_compute_ms=platform_ms)
            figures.set_sums(counts[i], sums[i], hists[i])
            result.append(figures)
        return result


def _days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


_ROW_FIELDS = ("day", "bureau_id", "scenario_id", *_Rows.COUNTS, *_Rows.SUMS, "latency_hist_text")


def usage_report(
    *,
    actor: Actor,
    first: date,
    last: date,
    period: str = "day",
    bureau: str | None = None,
    domain: str | None = None,
    scenario: str | None = None,
) -> UsageReport:
    """Every figure of one report, from the aggregates of ``first``..``last`` (local days)."""
    _check_access(actor)
    check_range(first, last)
    if period not in PERIODS:
        raise ApplicationError(f"period must be one of {', '.join(PERIODS)}.", code="invalid_period")
    the_bureau = the_domain = the_scenario = None
    if bureau:
        the_bureau = bureau_get(slug=bureau)
        if not actor.sees_all_bureaus and the_bureau != actor.bureau:
            raise NotFound(f"No bureau {bureau!r}.", code="unknown_bureau")
    if domain:
        the_domain = Domain.objects.filter(slug=domain).first()
        if the_domain is None:
            raise NotFound(f"No domain {domain!r}.", code="unknown_domain")
    if scenario:
        the_scenario = Scenario.objects.filter(slug=scenario).first()
        if the_scenario is None:
            raise NotFound(f"No scenario {scenario!r}.", code="unknown_scenario")

    in_period = UsageDaily.objects.filter(day__gte=first, day__lte=last)
    # The chargeback denominator: all compute of the period, every bureau and scenario.
    platform_ms = in_period.aggregate(total=Sum("compute_ms"))["total"] or 0.0
    qs = scope_to_actor(in_period, actor)
    if the_bureau:
        qs = qs.filter(bureau=the_bureau)
    if the_domain:
        qs = qs.filter(scenario__domain=the_domain)
    if the_scenario:
        qs = qs.filter(scenario=the_scenario)
    rows = list(qs.order_by().annotate(latency_hist_text=Cast("latency_hist", TextField())).values_list(*_ROW_FIELDS))
    bureau_ids, scenario_ids = {r[1] for r in rows}, {r[2] for r in rows}

    bureaus = {b.pk: b for b in Bureau.objects.filter(pk__in=bureau_ids)}
    scenarios = {s.pk: s for s in Scenario.objects.select_related("domain").filter(pk__in=scenario_ids)}
    domains = {s.domain.slug: s.domain for s in scenarios.values()}
    bureau_slug = {pk: b.slug for pk, b in bureaus.items()}
    scenario_slug = {pk: s.slug for pk, s in scenarios.items()}
    by_bureau_slug = {b.slug: b for b in bureaus.values()}
    by_scenario_slug = {s.slug: s for s in scenarios.values()}

    def bureau_label(slug: str) -> str:
        return bureau_name(by_bureau_slug[slug])

    data = _Rows(rows)
    (total,) = data.group(lambda k: "total", lambda k: "", platform_ms, keys=["total"])
    by_bureau = data.group(lambda k: bureau_slug[k[1]], bureau_label, platform_ms)
    by_scenario = data.group(lambda k: scenario_slug[k[2]], lambda slug: by_scenario_slug[slug].name, platform_ms)
    by_domain = data.group(lambda k: scenarios[k[2]].domain.slug, lambda slug: domains[slug].name, platform_ms)
    by_period = data.group(lambda k: _period_key(k[0], period), lambda k: k, platform_ms,
                           keys=_period_keys(first, last, period))
    by_bureau.sort(key=lambda f: -f.compute_ms)
    by_scenario.sort(key=lambda f: -f.requests)
    domain_order = {d.slug: (d.order, d.slug) for d in domains.values()}
    by_domain.sort(key=lambda f: domain_order[f.key])
    by_period.sort(key=lambda f: f.key)

    return UsageReport(
        first=first, last=last, period=period, bureau=the_bureau, domain=the_domain, scenario=the_scenario,
        total=total, by_bureau=by_bureau, by_scenario=by_scenario, by_domain=by_domain, by_period=by_period,
        quota=_quota_use(data, bureaus, scenarios, first, last), platform_compute_ms=platform_ms,
        outcomes=_outcomes(actor, first, last, the_bureau, the_domain, the_scenario),
    )


def _outcomes(actor: Actor, first: date, last: date, bureau, domain, scenario) -> list[OutcomeRow]:
    """Precision and response times from the events app (reports reads events; events never reads
    reports). A bureau's own report counts the events it was responsible for."""
    since, until = day_bounds(first, last)
    if bureau is None and not actor.sees_all_bureaus:
        bureau = actor.bureau
    wanted = Scenario.objects.all()
    if domain is not None:
        wanted = wanted.filter(domain=domain)
    if scenario is not None:
        wanted = wanted.filter(pk=scenario.pk)
    by_id = {s.pk: s for s in wanted.select_related("domain")}
    rows = event_outcomes(since=since, until=until, bureau=bureau,
                          scenario_ids=None if domain is None and scenario is None else list(by_id))
    return [OutcomeRow(scenario=by_id[r.scenario_id], figures=r) for r in rows if r.scenario_id in by_id]


def bureau_name(bureau: Bureau) -> str:
    return bureau.name_en if (get_language() or "").startswith("en") and bureau.name_en else bureau.name_zh


def _quota_use(data: _Rows, bureaus: dict, scenarios: dict, first: date, last: date) -> list[QuotaUse]:
    """Quota and compute-budget use of each bureau × scenario that ran in the period."""
    days = (last - first).days + 1
    # The monthly budget is spread evenly over the days of its month, so any period has a budget.
    budget_days = sum(1 / _days_in_month(first + timedelta(days=i)) for i in range(days))
    per_day: dict[tuple, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    compute: dict[tuple, float] = defaultdict(float)
    requests_col = _Rows.COUNTS.index("requests")
    compute_col = _Rows.SUMS.index("compute_ms")
    requests_per_row = data.counts[:, requests_col].tolist()
    compute_per_row = data.sums[:, compute_col].tolist()
    for (day, bureau_id, scenario_id), n, ms in zip(data.keys, requests_per_row, compute_per_row, strict=True):
        per_day[(bureau_id, scenario_id)][day] += n
        compute[(bureau_id, scenario_id)] += ms
    entitlements = {
        (e.bureau_id, e.scenario_id): e
        for e in Entitlement.objects.filter(
            bureau_id__in={b for b, _ in per_day}, scenario_id__in={s for _, s in per_day}
        )
    }
    result = []
    for pair, requests_per_day in per_day.items():
        entitlement = entitlements.get(pair)
        quota = entitlement.daily_quota if entitlement else None
        budget = entitlement.monthly_compute_budget_s if entitlement else None
        result.append(QuotaUse(
            bureau=bureaus[pair[0]],
            scenario=scenarios[pair[1]],
            daily_quota=quota,
            monthly_compute_budget_s=budget,
            days=days,
            requests=sum(requests_per_day.values()),
            peak_day_requests=max(requests_per_day.values(), default=0),
            days_over_quota=sum(1 for n in requests_per_day.values() if quota and n > quota),
            compute_ms=compute[pair],
            budget_s=(budget or 0) * budget_days,
        ))
    result.sort(key=lambda q: (-(q.peak_day_use or 0), q.bureau.slug, q.scenario.slug))
    return result


def report_filter_choices(actor: Actor) -> dict:
    """What the filter form offers: bureaus only to those who see all of them."""
    _check_access(actor)
    return {
        "bureaus": list(Bureau.objects.all()) if actor.sees_all_bureaus else [],
        "domains": list(Domain.objects.all()),
        "scenarios": list(Scenario.objects.select_related("domain")),
    }


def report_query(params, *, today: date) -> dict:
    """Read a report's period and filters from query parameters (the page, the exports and the API
    share them): ``month=2026-11`` (default: this month) or ``from=…&to=…``; ``period=day|month``;
    ``bureau``, ``domain``, ``scenario`` slugs."""
    raw_from, raw_to = params.get("from") or "", params.get("to") or ""
    if raw_from or raw_to:
        try:
            first = date.fromisoformat(raw_from or raw_to)
            last = date.fromisoformat(raw_to or raw_from)
        except ValueError:
            raise ApplicationError("from and to must be dates like 2026-11-01.", code="invalid_date") from None
    else:
        first, last = month_range(params.get("month") or f"{today:%Y-%m}")
    check_range(first, last)
    return {
        "first": first,
        "last": last,
        "period": params.get("period") or "day",
        "bureau": params.get("bureau") or None,
        "domain": params.get("domain") or None,
        "scenario": params.get("scenario") or None,
    }
