"""Writes for inference requests, one module per job:

- ``submit``   accept one input or a batch of one scenario: validate, entitlement, limits, store, announce
- ``quota``    the daily quota, the month's compute budget, backlog cap and fair share of a tier
- ``enqueue``  announce due work to the workers (drain messages, by task name)
- ``execute``  claim → pipeline → record, for one request or a batch; announce what finished
- ``recovery`` requeue what a lost worker or message left behind
"""

from services.inference.services.execute import (
    ExecuteOutcome,
    announce_finished,
    inference_request_execute,
    inference_requests_drain,
)
from services.inference.services.quota import fair_tier
from services.inference.services.recovery import inference_requests_requeue_stale
from services.inference.services.submit import (
    SubmitItem,
    inference_request_submit,
    inference_requests_submit,
    scenario_params_resolve,
)

__all__ = [
    "ExecuteOutcome",
    "SubmitItem",
    "announce_finished",
    "fair_tier",
    "inference_request_execute",
    "inference_request_submit",
    "inference_requests_drain",
    "inference_requests_requeue_stale",
    "inference_requests_submit",
    "scenario_params_resolve",
]
