"""What inference announces. Apps above it (events, reports, webhooks) subscribe; inference imports none of them."""

from django.dispatch import Signal

# Sent after the write that finished requests commits, once per finished batch (often one request);
# kwargs: requests (a list of finished InferenceRequest rows as recorded, scenario and bureau loaded).
# Receivers handle the list in bulk: a batch of 16 should cost a few statements, not 16 times a few.
requests_finished = Signal()
