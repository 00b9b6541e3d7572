"""What the catalog announces. Inference (which can embed texts on Triton) listens and retrains the
router; the catalog imports nothing above it."""

from django.dispatch import Signal

# Sent after a change to a text-routing scenario's exemplars or targets commits; kwargs:
# scenario_slug, by (who changed it), wait (True: train now in this process, e.g. from
# `load_catalog`; False: train if it is cheap here, else leave it to the next routing request).
routing_data_changed = Signal()
