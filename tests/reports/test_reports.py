"""Report figures from the daily aggregates equal the figures computed from the request rows."""

from datetime import date

import pytest

from services.catalog.models import Entitlement, Scenario
from services.reports import metering
from services.reports.models import UsageDaily
from services.reports.selectors import usage_report
from tests.reports.conftest import (
    FIRST,
    LAST,
    SEEDED,
    exact_percentile,
    expected_figures,
    local_day,
    month_requests,
    session_client,
)

pytestmark = pytest.mark.django_db


def _assert_matches(figures, expected: dict) -> None:
    assert figures.requests == expected["requests"]
    assert figures.succeeded == expected["succeeded"]
    assert figures.failed == expected["failed"]
    assert figures.alerts == expected["alerts"]
    assert figures.input_bytes == expected["input_bytes"]
    assert figures.compute_ms == pytest.approx(expected["compute_ms"], rel=1e-9)
    assert figures.queue_ms == pytest.approx(expected["queue_ms"], rel=1e-9)
    assert figures.success_rate == pytest.approx(expected["succeeded"] / expected["requests"])
    for q, estimate in ((0.5, figures.p50_ms), (0.95, figures.p95_ms)):
        exact = exact_percentile(expected["latencies"], q)
        # The estimate lies in the exact percentile's histogram bucket (within a factor of 1.33).
        assert metering.bucket_of(estimate) == metering.bucket_of(exact), (q, estimate, exact)
        assert estimate == pytest.approx(exact, rel=0.34)


def test_month_figures_equal_those_from_request_rows(seeded_month, auditor_actor):
    report = usage_report(actor=auditor_actor, first=FIRST, last=LAST)
    rows = list(month_requests())
    assert len(rows) == SEEDED - 25  # the 25 still running are not counted
    total = expected_figures(rows, lambda r: "total")["total"]
    _assert_matches(report.total, total)
    for figures, key in (
        (report.by_bureau, lambda r: r.bureau.slug),
        (report.by_scenario, lambda r: r.scenario.slug),
        (report.by_domain, lambda r: r.scenario.domain.slug),
        (report.by_period, lambda r: local_day(r).isoformat()),
    ):
        expected = expected_figures(rows, key)
        got = {f.key: f for f in figures if f.requests}
        assert set(got) == set(expected)
        for k, f in got.items():
            _assert_matches(f, expected[k])
    # Every day of the month has a row (zero where nothing ran); shares add up to the whole.
    assert [f.key for f in report.by_period] == [date(2026, 11, d).isoformat() for d in range(1, 31)]
    assert sum(f.compute_share for f in report.by_bureau) == pytest.approx(1.0)
    assert report.total.compute_share == pytest.approx(1.0)


def test_monthly_grouping_and_filters(seeded_month, auditor_actor, bureau_a):
    report = usage_report(actor=auditor_actor, first=date(2026, 10, 1), last=date(2026, 12, 31), period="month")
    assert [f.key for f in report.by_period] == ["2026-10", "2026-11", "2026-12"]
    october, november, december = (f.requests for f in report.by_period)
    assert november == SEEDED - 25 and october == 40 and december == 40

    scenario = Scenario.objects.get(slug="crowd-gathering")
    filtered = usage_report(actor=auditor_actor, first=FIRST, last=LAST, bureau="bureau-a", scenario=scenario.slug)
    rows = [r for r in month_requests() if r.bureau_id == bureau_a.pk and r.scenario_id == scenario.pk]
    if rows:
        _assert_matches(filtered.total, expected_figures(rows, lambda r: "x")["x"])
    else:
        assert filtered.total.requests == 0
    # Share of the platform's compute, not of the filtered subset.
    assert filtered.platform_compute_ms == pytest.approx(usage_report(
        actor=auditor_actor, first=FIRST, last=LAST).platform_compute_ms)

    domain_report = usage_report(actor=auditor_actor, first=FIRST, last=LAST, domain=scenario.domain.slug)
    rows = [r for r in month_requests() if r.scenario.domain_id == scenario.domain_id]
    _assert_matches(domain_report.total, expected_figures(rows, lambda r: "x")["x"])


def test_quota_use(seeded_month, auditor_actor):
    busiest = (
        UsageDaily.objects.filter(day__gte=FIRST, day__lte=LAST).order_by("-requests").select_related("bureau",
                                                                                                       "scenario")
        .first()
    )
    quota = max(1, busiest.requests // 2)
    Entitlement.objects.update_or_create(
        bureau=busiest.bureau, scenario=busiest.scenario, defaults={"daily_quota": quota}
    )
    report = usage_report(actor=auditor_actor, first=FIRST, last=LAST)
    row = next(q for q in report.quota if q.bureau == busiest.bureau and q.scenario == busiest.scenario)
    per_day: dict = {}
    for r in month_requests().filter(bureau=busiest.bureau, scenario=busiest.scenario):
        per_day[local_day(r)] = per_day.get(local_day(r), 0) + 1
    assert row.requests == sum(per_day.values())
    assert row.peak_day_requests == max(per_day.values())
    assert row.days_over_quota == sum(1 for n in per_day.values() if n > quota)
    assert row.quota_use == pytest.approx(row.requests / (quota * 30))
    assert report.quota[0].peak_day_use >= row.peak_day_use  # sorted by the busiest day's use


def test_api_serves_the_same_numbers(seeded_month, auditor, auditor_actor):
    report = usage_report(actor=auditor_actor, first=FIRST, last=LAST)
    body = session_client(auditor).get("/api/v1/usage/bureaus", {"month": "2026-11"}).json()
    assert body["from"] == "2026-11-01" and body["to"] == "2026-11-30"
    assert body["event_outcomes"] == []  # no event reviewed in the seeded month
    by_key = {row["key"]: row for row in body["rows"]}
    for f in report.by_bureau:
        row = by_key[f.key]
        assert row["requests"] == f.requests and row["failed"] == f.failed
        assert row["compute_s"] == round(f.compute_s, 3)
        assert row["latency_p95_ms"] == round(f.p95_ms, 1)
        assert row["compute_share"] == round(f.compute_share, 4)
    summary = session_client(auditor).get("/api/v1/usage/summary", {"from": "2026-11-01", "to": "2026-11-30"}).json()
    assert summary["rows"][0]["requests"] == report.total.requests
    periods = session_client(auditor).get("/api/v1/usage/periods", {"month": "2026-11", "period": "month"}).json()
    assert [r["key"] for r in periods["rows"]] == ["2026-11"]


def test_api_rejects_bad_parameters(auditor):
    client = session_client(auditor)
    assert client.get("/api/v1/usage/nothing").status_code == 404
    bad = client.get("/api/v1/usage/bureaus", {"month": "november"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_month"
    too_long = client.get("/api/v1/usage/bureaus", {"from": "2025-01-01", "to": "2026-11-30"})
    assert too_long.json()["error"]["code"] == "period_too_long"
    assert client.get("/api/v1/usage/bureaus", {"bureau": "nope"}).status_code == 404
    empty = client.get("/api/v1/usage/summary", {"month": "2020-01"}).json()["rows"][0]
    assert empty["requests"] == 0 and empty["latency_p95_ms"] is None and empty["success_rate"] is None
    assert client.get("/reports/", {"month": "2020-01"}).status_code == 200


def test_report_page_renders_in_both_languages(seeded_month, auditor):
    client = session_client(auditor)
    page = client.get("/reports/", {"month": "2026-11"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "用量与计费" in text and "按局" in text
    # Charts are ECharts specs with their figures as a table beside them (the exports keep SVG).
    assert text.count('data-chart="chart-') == 3 and "echarts.min.js" in text and "数据表" in text
    assert "尚未" in text  # event precision: clearly not measured yet, no number
    client.post("/i18n/setlang/", {"language": "en", "next": "/reports/"})
    text = client.get("/reports/", {"month": "2026-11", "period": "month"}).content.decode()
    assert "Usage and chargeback" in text and "By bureau" in text
    bad = client.get("/reports/", {"month": "2026-13"})
    assert bad.status_code == 400
