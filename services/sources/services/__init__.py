"""Writes for sources and bindings, one module per job:

- ``access``      who may change a source (managers of its bureau, platform admins); the audit entry
- ``sources``     register, change and remove a source; its zones
- ``device_keys`` issue and revoke the key a pushing device sends; find the source of a key
- ``bindings``    which scenario runs on a source, with which params and zone, how often
- ``submit``      a frame or reading becomes a request per binding; the source's last frame
- ``pull``        the beat claims due cameras, a worker grabs a frame; failures back off
- ``push``        a device's frame or reading; devices that fall silent go offline

A pulled frame or pushed reading becomes an ordinary inference request of the owning bureau, so the
bureau's entitlements, quotas, budgets and fair sharing apply to cameras exactly as to people. The
request's ``source`` is ``source:<id>``, which the multi-frame rules and the events app key on.
"""

from services.sources.services.access import can_write, check_can_write
from services.sources.services.bindings import binding_create, binding_delete, binding_update
from services.sources.services.device_keys import (
    source_device_key_issue,
    source_device_key_revoke,
    source_for_device_key,
)
from services.sources.services.pull import PullOutcome, pull_limits, source_pull, sources_schedule_due
from services.sources.services.push import device_push_for_source, sources_mark_silent
from services.sources.services.sources import source_create, source_delete, source_update, source_zones_set
from services.sources.services.submit import source_actor

__all__ = [
    "PullOutcome",
    "binding_create",
    "binding_delete",
    "binding_update",
    "can_write",
    "check_can_write",
    "device_push_for_source",
    "pull_limits",
    "source_actor",
    "source_create",
    "source_delete",
    "source_device_key_issue",
    "source_device_key_revoke",
    "source_for_device_key",
    "source_pull",
    "source_update",
    "source_zones_set",
    "sources_mark_silent",
    "sources_schedule_due",
]
