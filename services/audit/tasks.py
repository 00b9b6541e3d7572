"""Periodic verification, so the auditor page always shows a recent chain status."""

from celery import shared_task

from services.audit.services import audit_chain_check


@shared_task(name="services.audit.tasks.verify_audit_chain")
def verify_audit_chain() -> bool:
    return audit_chain_check(by="system:beat").ok
