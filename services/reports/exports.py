"""CSV and XLSX files of a report: the same tables the page shows, nothing recomputed."""

import csv
import io
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.reports.selectors import UsageReport
from services.reports.tables import BYTES, INT, MS, RATIO, SECONDS, Table

_XLSX_FORMATS = {INT: "#,##0", BYTES: "#,##0", MS: "0.0", SECONDS: "#,##0.000", RATIO: "0.00%"}
OUTCOMES_NOTE = gettext_lazy(
    "Event precision and work-order response times: not measured in this period (no event was reviewed "
    "and no work order dispatched)."
)


def outcomes_summary(report: UsageReport) -> str:
    """One line for the export's first sheet: precision and response over all scenarios of the report."""
    if not report.outcomes:
        return str(OUTCOMES_NOTE)
    confirmed = sum(o.figures.confirmed for o in report.outcomes)
    reviewed = sum(o.figures.reviewed for o in report.outcomes)
    resolved = sum(o.figures.resolved for o in report.outcomes)
    hours = sum((o.figures.mean_response_h or 0) * o.figures.resolved for o in report.outcomes)
    precision = f"{confirmed / reviewed:.1%}" if reviewed else "—"
    response = f"{hours / resolved:.1f} h" if resolved else "—"
    return _("Precision %(precision)s (%(confirmed)d of %(reviewed)d reviewed); mean response %(response)s "
             "over %(resolved)d resolved work orders") % {
        "precision": precision, "confirmed": confirmed, "reviewed": reviewed, "response": response,
        "resolved": resolved}


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese names correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(c.title) for c in table.columns])
    writer.writerows(["" if v is None else v for v in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_meta(report: UsageReport, *, generated_at: datetime, audit_head: tuple[int, str] | None) -> list[tuple]:
    """The first sheet: what the numbers cover, and the audit chain head at the time (writing that
    head down elsewhere is what makes a later rewrite of the whole chain detectable)."""
    rows = [
        (_("Period"), f"{report.first.isoformat()} – {report.last.isoformat()}"),
        (_("Grouped by"), _("Day") if report.period == "day" else _("Month")),
        (_("Bureau"), report.bureau.slug if report.bureau else _("All")),
        (_("Domain"), report.domain.slug if report.domain else _("All")),
        (_("Scenario"), report.scenario.slug if report.scenario else _("All")),
        (_("Platform compute (s)"), round(report.platform_compute_ms / 1000, 3)),
        (_("Generated at"), generated_at.isoformat(timespec="seconds")),
        (_("Event precision and work-order response"), outcomes_summary(report)),
    ]
    if audit_head is not None:
        rows.append((_("Audit chain head"), f"#{audit_head[0]} {audit_head[1]}"))
    return rows


def xlsx_bytes(tables: dict[str, Table], meta: list[tuple]) -> bytes:
    workbook = Workbook()
    about = workbook.active
    about.title = _("About")[:31]
    for label, value in meta:
        about.append([str(label), value])
    about.column_dimensions["A"].width = 34
    about.column_dimensions["B"].width = 90
    bold = Font(bold=True)
    for table in tables.values():
        sheet = workbook.create_sheet(str(table.title)[:31])
        sheet.append([str(c.title) for c in table.columns])
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append(row)
        for index, column in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = 28 if column.kind == "text" else 14
            fmt = _XLSX_FORMATS.get(column.kind)
            if fmt:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = fmt
        sheet.freeze_panes = "C2" if table.key != "quota" else "E2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
