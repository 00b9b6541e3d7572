"""What events announce, for subscribers above it (webhook delivery to API clients, for one).

``event_changed`` is sent after the transaction that changed an event commits; kwargs:
``event_id`` (UUID), ``change`` (one of ``CHANGES``) and ``work_order_id`` (UUID or None).
Events itself sends no webhooks: the webhooks app subscribes to this signal.
"""

from django.dispatch import Signal

CHANGES = ("created", "merged", "confirmed", "dismissed", "dispatched", "accepted", "resolved", "sent_back",
           "closed", "overdue")

event_changed = Signal()
