"""Access rules for portal pages, in one place so that no page can forget them.

Every portal view is wrapped in ``portal_view``: it requires a login, resolves the caller's
``Actor`` (the same object the API and the services use, so pages and API share one scoping rule),
refuses roles the page is not for, and turns the services' typed errors into the portal's 403 and
404 pages: another bureau's object is a plain 404, as in the API.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from services.accounts.models import Membership
from services.accounts.selectors import Actor, actor_from_request
from services.core.errors import NotFound, PermissionDenied

Role = Membership.Role

# Who may open which part of the portal.
SUBMIT_ROLES = (Role.OPERATOR, Role.MANAGER, Role.PLATFORM_ADMIN)
MANAGE_ROLES = (Role.MANAGER, Role.PLATFORM_ADMIN)
SYSTEM_ROLES = (Role.AUDITOR, Role.PLATFORM_ADMIN)


def portal_actor(request) -> Actor | None:
    """The actor of a logged-in request, resolved once per request; None without a bureau."""
    if not request.user.is_authenticated:
        return None
    if not hasattr(request, "_portal_actor"):
        try:
            request._portal_actor = actor_from_request(request)
        except PermissionDenied:
            request._portal_actor = None
    return request._portal_actor


def portal_view(*roles: str, needs_bureau: bool = False, allowed: Callable[[Actor], bool] | None = None) -> Callable:
    """Decorate a view ``view(request, actor, ...)``; with roles, only those roles may open it.

    ``needs_bureau``: pages about "my bureau" refuse a platform superuser who belongs to none.
    ``allowed``: a rule about the actor that roles alone do not say (the reports' "managers of a
    bureau, auditors of all"); the page is a 403 for an actor it rejects.
    """

    def decorate(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            actor = portal_actor(request)
            if (actor is None or (roles and actor.role not in roles) or (needs_bureau and actor.bureau is None)
                    or (allowed is not None and not allowed(actor))):
                raise DjangoPermissionDenied
            try:
                return view(request, actor, *args, **kwargs)
            except NotFound:
                raise Http404 from None
            except PermissionDenied:
                raise DjangoPermissionDenied from None

        return wrapper

    return decorate


def actor_can_manage(actor: Actor | None) -> bool:
    return actor is not None and actor.bureau is not None and actor.role in MANAGE_ROLES


def actor_sees_system(actor: Actor | None) -> bool:
    return actor is not None and actor.role in SYSTEM_ROLES
