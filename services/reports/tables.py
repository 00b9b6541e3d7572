"""A report as tables: the one shape the page, the CSV and XLSX exports and the JSON API all render,
so that every channel shows the same numbers, rounded the same way."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from services.reports.selectors import Figures, QuotaUse, UsageReport, bureau_name

# Column kinds decide rounding here and formatting in the page and the XLSX file.
TEXT, INT, MS, SECONDS, RATIO, BYTES = "text", "int", "ms", "seconds", "ratio", "bytes"
_DIGITS = {MS: 1, SECONDS: 3, RATIO: 4}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list]

    def as_dicts(self) -> list[dict]:
        return [{c.key: value for c, value in zip(self.columns, row, strict=True)} for row in self.rows]


def _round(value, kind: str):
    if value is None or kind not in _DIGITS:
        return value
    return round(value, _DIGITS[kind])


FIGURE_COLUMNS = [
    Column("requests", pgettext_lazy("usage", "Requests"), INT),
    Column("succeeded", _("Succeeded"), INT),
    Column("failed", _("Failed"), INT),
    Column("success_rate", _("Success rate"), RATIO),
    Column("alerts", _("Alerts"), INT),
    Column("latency_p50_ms", _("Latency p50 (ms)"), MS),
    Column("latency_p95_ms", _("Latency p95 (ms)"), MS),
    Column("mean_queue_ms", _("Mean queue wait (ms)"), MS),
    Column("compute_s", _("Compute (s)"), SECONDS),
    Column("compute_share", _("Share of platform compute"), RATIO),
    Column("input_bytes", _("Input bytes"), BYTES),
]

QUOTA_COLUMNS = [
    Column("bureau", _("Bureau"), TEXT),
    Column("bureau_name", _("Bureau name"), TEXT),
    Column("scenario", _("Scenario"), TEXT),
    Column("scenario_name", _("Scenario name"), TEXT),
    Column("daily_quota", _("Daily quota"), INT),
    Column("days", _("Days"), INT),
    Column("requests", pgettext_lazy("usage", "Requests"), INT),
    Column("quota_use", _("Quota use"), RATIO),
    Column("peak_day_requests", _("Busiest day"), INT),
    Column("peak_day_use", _("Busiest day's quota use"), RATIO),
    Column("days_over_quota", _("Days over quota"), INT),
    Column("compute_s", _("Compute (s)"), SECONDS),
    Column("compute_budget_s", _("Compute budget (s)"), SECONDS),
    Column("budget_use", _("Budget use"), RATIO),
]


def _figures_row(f: Figures) -> list:
    values = [
        f.requests, f.succeeded, f.failed, f.success_rate, f.alerts, f.p50_ms, f.p95_ms, f.mean_queue_ms,
        f.compute_s, f.compute_share, f.input_bytes,
    ]
    return [f.key, f.label] + [_round(v, c.kind) for v, c in zip(values, FIGURE_COLUMNS, strict=True)]


def _figures_table(key: str, title, key_title, name_title, figures: list[Figures]) -> Table:
    columns = [Column("key", key_title, TEXT), Column("name", name_title, TEXT), *FIGURE_COLUMNS]
    return Table(key, str(title), columns, [_figures_row(f) for f in figures])


def _quota_row(q: QuotaUse) -> list:
    values = [
        q.bureau.slug, bureau_name(q.bureau), q.scenario.slug, q.scenario.name, q.daily_quota, q.days,
        q.requests, q.quota_use, q.peak_day_requests, q.peak_day_use, q.days_over_quota, q.compute_s, q.budget_s,
        q.budget_use,
    ]
    return [_round(v, c.kind) for v, c in zip(values, QUOTA_COLUMNS, strict=True)]


TABLE_KEYS = ("summary", "periods", "bureaus", "scenarios", "domains", "quota")


def report_tables(report: UsageReport) -> dict[str, Table]:
    period_title = _("Day") if report.period == "day" else _("Month")
    report.total.label = str(_("All"))
    return {
        "summary": _figures_table("summary", _("Summary"), _("Total"), _("Name"), [report.total]),
        "periods": _figures_table("periods", _("By period"), period_title, _("Period"), report.by_period),
        "bureaus": _figures_table("bureaus", _("By bureau"), _("Bureau"), _("Bureau name"), report.by_bureau),
        "scenarios": _figures_table("scenarios", _("By scenario"), _("Scenario"), _("Scenario name"),
                                    report.by_scenario),
        "domains": _figures_table("domains", _("By domain"), _("Domain"), _("Domain name"), report.by_domain),
        "quota": Table("quota", str(_("Quota and compute budget use")), QUOTA_COLUMNS,
                       [_quota_row(q) for q in report.quota]),
    }
