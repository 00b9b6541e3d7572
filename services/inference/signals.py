"""What inference announces. Apps above it (events, reports, webhooks) subscribe; inference imports none of them.

Both are sent once per finished batch (often one request), after the commit that finished it, with
kwargs ``requests``: the finished InferenceRequest rows as recorded (scenario and bureau loaded).
Receivers handle the list in bulk: a batch of 32 should cost a few statements, not 32 times a few.
"""

from django.dispatch import Signal

# Before waiting callers are woken: record here what a caller must find when it sees the result
# (the event an alert raises).
requests_finished = Signal()

# After the callers were woken: bookkeeping nobody waits for (metering, webhook deliveries). The
# catch-up task meters what a lost signal missed.
requests_noticed = Signal()
