"""A frame or reading of a source becomes a request per binding, and the source keeps its last frame."""

import logging
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction

from services.accounts.models import Membership
from services.accounts.selectors import Actor
from services.core.errors import ApplicationError
from services.inference.inputs import CheckedInput
from services.inference.models import InferenceRequest
from services.inference.services import SubmitItem, inference_requests_submit
from services.sources.models import Binding, Source
from services.sources.services.bindings import with_zone

logger = logging.getLogger(__name__)


def source_actor(source: Source) -> Actor:
    """The source acting for its bureau: it submits like an operator, labelled as itself."""
    return Actor(bureau=source.bureau, role=Membership.Role.OPERATOR, service=source.request_source)


def run_bindings(source: Source, bindings: list[Binding], checked: CheckedInput,
                 at: datetime) -> dict[int, InferenceRequest | None]:
    """Submit one frame (or reading) for several bindings: the bindings of one scenario go in one
    batch (one quota statement, one INSERT, one announcement), each still its own request. A refusal
    (quota, entitlement withdrawn …) is the binding's, recorded on it, not the source's."""
    out: dict[int, InferenceRequest | None] = {}
    by_scenario: dict[str, list[Binding]] = {}
    for binding in bindings:
        by_scenario.setdefault(binding.scenario.slug, []).append(binding)
    for slug, group in by_scenario.items():
        items = [SubmitItem(checked=checked, params=with_zone(source, b.params, b.zone_name),
                            source=source.request_source, captured_at=at) for b in group]
        try:
            inference_requests_submit(actor=source_actor(source), scenario_slug=slug, items=items)
        except ApplicationError as exc:
            for item in items:
                item.error = exc
        for binding, item in zip(group, items, strict=True):
            out[binding.pk] = item.request
            if item.request is None:
                exc = item.error
                logger.info("source %s binding %s refused: %s", source.pk, binding.pk, exc.message)
                Binding.objects.filter(pk=binding.pk).update(last_run_at=at,
                                                             last_error=f"{exc.code}: {exc.message}"[:2000])
            else:
                Binding.objects.filter(pk=binding.pk).update(last_run_at=at, last_request=item.request, last_error="")
    return out


def store_frame(source: Source, jpeg: bytes) -> None:
    """Keep ``jpeg`` as the source's last frame (saved with the row by the caller)."""
    # One file per source: a storage that renames on collision leaves the old one, removed once the
    # row points at the new one.
    old = source.last_frame.name if source.last_frame else ""
    source.last_frame.save("frame.jpg", ContentFile(jpeg), save=False)
    if old and old != source.last_frame.name:
        storage = source.last_frame.storage
        transaction.on_commit(lambda: storage.delete(old))
