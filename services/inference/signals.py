"""What inference announces. Apps above it (events, reports) subscribe; inference imports none of them."""

from django.dispatch import Signal

# Sent after the write that finished a request commits; kwargs: request_id, and request (the finished
# InferenceRequest as recorded, with scenario and bureau loaded) when the sender has it.
request_finished = Signal()
