"""Who looked at which request's result or input: the audit entry every view that shows one
leaves (the API's detail and annotated image, the portal's request page, its input and image)."""

from services.accounts.selectors import Actor
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.inference.models import InferenceRequest


def inference_request_viewed(*, actor: Actor, request: InferenceRequest, part: str = "result") -> None:
    """Record a view of a request's result (``part``: result, annotated_image) or of its input.

    A request still queued or running shows no result yet, so polling it leaves no entry (its
    input is recorded whenever it is opened); the entry names the request's own bureau too, which
    differs from the viewer's for an auditor.
    """
    if part != "input" and not request.is_terminal:
        return
    audit_record(
        action=AuditEntry.Action.REQUEST_VIEWED,
        actor=actor.label,
        bureau=actor.bureau.slug if actor.bureau else "",
        object_type="inference_request",
        object_id=request.pk,
        details={"part": part, "owner_bureau": request.bureau.slug, "scenario": request.scenario.slug},
    )
