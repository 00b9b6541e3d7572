from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from services.accounts.models import Membership
from services.accounts.selectors import Actor
from services.audit.selectors import audit_head
from services.core.errors import ApplicationError
from services.reports.charts import report_charts
from services.reports.exports import csv_bytes, report_meta, xlsx_bytes
from services.reports.selectors import month_range, usage_report
from services.reports.services import metering_zone, usage_export_record
from services.reports.tables import report_tables


class Command(BaseCommand):
    help = "Write a month's usage report to files: one XLSX workbook, a CSV per table and SVG charts."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="2026-11")
        parser.add_argument("--out", required=True, type=Path, help="folder for the files (created if missing)")
        parser.add_argument("--bureau", help="only this bureau (slug)")
        parser.add_argument("--period", choices=["day", "month"], default="day")
        parser.add_argument("--language", default="zh-hans", help="zh-hans (default) or en")

    def handle(self, *args, month, out: Path, bureau=None, period="day", language="zh-hans", **options):
        # The command runs with an auditor's view: all bureaus, or the one named.
        actor = Actor(bureau=None, role=Membership.Role.AUDITOR)
        with translation.override(language):
            try:
                first, last = month_range(month)
                report = usage_report(actor=actor, first=first, last=last, period=period, bureau=bureau)
            except ApplicationError as exc:
                raise CommandError(exc.message) from None
            tables = report_tables(report)
            head = audit_head()
            meta = report_meta(report, generated_at=timezone.now().astimezone(metering_zone()),
                               audit_head=(head.seq, head.hash) if head else None)
            out.mkdir(parents=True, exist_ok=True)
            stem = f"cityai-usage-{month}" + (f"-{bureau}" if bureau else "")
            written = [out / f"{stem}.xlsx"]
            written[0].write_bytes(xlsx_bytes(tables, meta))
            for key, table in tables.items():
                path = out / f"{stem}-{key}.csv"
                path.write_bytes(csv_bytes(table))
                written.append(path)
            for name, svg in report_charts(report).items():
                path = out / f"{stem}-{name}.svg"
                path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + svg, encoding="utf-8")
                written.append(path)
        usage_export_record(
            actor_label="command:monthly_report", bureau="", fmt="files",
            query={"first": first, "last": last, "period": period, "bureau": bureau, "out": str(out)},
        )
        for path in written:
            self.stdout.write(str(path))
        self.stdout.write(self.style.SUCCESS(
            f"{month}: {report.total.requests} requests, {report.total.compute_s:,.1f} compute seconds, "
            f"{len(written)} files"
        ))
