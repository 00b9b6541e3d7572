"""What inference announces. Apps above it (events, reports) subscribe; inference imports none of them."""

from django.dispatch import Signal

# Sent after the transaction that finished a request commits; kwargs: request (InferenceRequest).
request_finished = Signal()
