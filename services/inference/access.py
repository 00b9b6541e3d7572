"""Who may see a request's raw input, beyond the bureau scope that decides who sees the request."""

from services.accounts.selectors import Actor
from services.core.errors import PermissionDenied


def inference_request_check_raw_input(*, actor: Actor) -> None:
    """Inputs (camera frames, audio, complaint texts) are the bureau's, not the auditor's: results
    and metadata stay readable, the bytes and the text do not. The annotated image counts as an
    input, since it is the submitted frame with boxes drawn on it."""
    if not actor.sees_raw_inputs:
        raise PermissionDenied("Auditors do not see the submitted inputs.", code="raw_input_forbidden")
