from django.core.management.base import BaseCommand, CommandError

from services.audit.selectors import audit_chain_verify
from services.audit.services import audit_chain_check


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; name the first broken entry and exit non-zero if any."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-record", action="store_true",
            help="Only read: do not store the outcome for the auditor page or append an entry.",
        )

    def handle(self, *args, no_record=False, **options):
        if no_record:
            status = audit_chain_verify()
        else:
            status = audit_chain_check(by="command:verify_audit")
        if not status.ok:
            raise CommandError(
                f"audit chain BROKEN at entry #{status.first_broken_seq}: {status.reason} "
                f"({status.entries} entries verified before it)"
            )
        self.stdout.write(self.style.SUCCESS(
            f"audit chain ok: {status.entries} entries, head #{status.head_seq} {status.head_hash}"
        ))
