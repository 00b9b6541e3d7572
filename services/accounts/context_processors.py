"""Template context for every portal page: who is logged in and which parts of the portal they see."""

from services.accounts.portal import actor_can_manage, actor_sees_system, portal_actor


def portal(request) -> dict:
    # DRF views render templates too (the API docs); there an anonymous caller's user is None.
    actor = portal_actor(request) if getattr(request, "user", None) is not None else None
    return {
        "portal_actor": actor,
        "portal_can_manage": actor_can_manage(actor),
        "portal_sees_system": actor_sees_system(actor),
        "portal_can_submit": actor is not None and actor.can_submit,
    }
