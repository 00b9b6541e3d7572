"""What inference announces. Apps above it (events, reports, webhooks) subscribe; inference imports none of them."""

from django.dispatch import Signal

# Sent once per finished batch (often one request), after the commit that finished it and before
# waiting API calls are woken (so a caller who sees the result also finds its event, its metering
# and its webhook deliveries); kwargs: requests, the finished InferenceRequest rows as recorded
# (scenario and bureau loaded). Receivers handle the list in bulk: a batch of 32 should cost a few
# statements, not 32 times a few.
requests_finished = Signal()
