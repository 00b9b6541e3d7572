"""Exports open in a spreadsheet and hold the same numbers as the report and the request rows."""

import csv
import io

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from services.audit.models import AuditEntry
from services.reports.selectors import usage_report
from services.reports.tables import report_tables
from tests.reports.conftest import FIRST, LAST, expected_figures, month_requests, session_client

pytestmark = pytest.mark.django_db


def _sheet_rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_xlsx_export_holds_the_report_numbers(seeded_month, auditor, auditor_actor):
    response = session_client(auditor).get("/reports/export.xlsx", {"month": "2026-11"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(response.content))
    tables = report_tables(usage_report(actor=auditor_actor, first=FIRST, last=LAST))
    assert workbook.sheetnames[0] == "说明"
    for table in tables.values():
        assert _sheet_rows(workbook[table.title]) == table.rows
    # And straight from the request rows, without the report code in between.
    expected = expected_figures(list(month_requests()), lambda r: r.bureau.slug)
    sheet = workbook[tables["bureaus"].title]
    header = [c.value for c in sheet[1]]
    for row in _sheet_rows(sheet):
        values = dict(zip(header, row, strict=True))
        e = expected[row[0]]
        assert values["请求数"] == e["requests"]
        assert values["失败"] == e["failed"]
        assert values["计算时长（秒）"] == pytest.approx(e["compute_ms"] / 1000, abs=0.0005)
        assert values["成功率"] == pytest.approx(e["succeeded"] / e["requests"], abs=0.00005)
    assert sheet["F2"].number_format == "0.00%"
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).latest("seq")
    assert entry.actor == "user:auditor" and entry.details_data["format"] == "xlsx"


def test_csv_export_is_one_table(seeded_month, auditor, auditor_actor):
    response = session_client(auditor).get("/reports/export.csv", {"month": "2026-11", "table": "scenarios"})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    table = report_tables(usage_report(actor=auditor_actor, first=FIRST, last=LAST))["scenarios"]
    assert rows[0] == [str(c.title) for c in table.columns]
    assert [[str("" if v is None else v) for v in row] for row in table.rows] == rows[1:]
    assert session_client(auditor).get("/reports/export.csv", {"table": "nope"}).status_code == 404


def test_monthly_report_command_writes_files(seeded_month, tmp_path):
    out = io.StringIO()
    call_command("monthly_report", month="2026-11", out=tmp_path, stdout=out)
    xlsx = tmp_path / "cityai-usage-2026-11.xlsx"
    workbook = load_workbook(xlsx)
    summary = _sheet_rows(workbook["汇总"])
    assert summary[0][2] == month_requests().count()
    about = {label: value for label, value in workbook["说明"].iter_rows(values_only=True)}
    assert about["统计期间"] == "2026-11-01 – 2026-11-30"
    assert about["审计链头"].startswith("#")
    for name in ("requests", "compute", "latency"):
        assert (tmp_path / f"cityai-usage-2026-11-{name}.svg").read_text(encoding="utf-8").count("<svg") == 1
    with open(tmp_path / "cityai-usage-2026-11-bureaus.csv", encoding="utf-8-sig") as fh:
        assert len(list(csv.reader(fh))) > 2
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT, actor="command:monthly_report").exists()
