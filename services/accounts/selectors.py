"""Who is calling, and the one scoping rule every read goes through."""

from dataclasses import dataclass

from django.db.models import QuerySet

from services.accounts.models import ApiClient, Bureau, Membership
from services.core.errors import NotFound, PermissionDenied

Role = Membership.Role


@dataclass(frozen=True)
class Actor:
    """The caller of a service: a portal user with a membership, or a department's API client."""

    bureau: Bureau | None
    role: str
    user: object | None = None
    api_client: ApiClient | None = None
    # A platform service acting for the bureau (e.g. "source:<id>" for a camera it pulls), not a person.
    service: str = ""

    @property
    def sees_all_bureaus(self) -> bool:
        return self.role in (Role.AUDITOR, Role.PLATFORM_ADMIN)

    @property
    def sees_raw_inputs(self) -> bool:
        """Auditors read usage, results and the audit log, never what a bureau submitted."""
        return self.role != Role.AUDITOR

    @property
    def can_submit(self) -> bool:
        return self.bureau is not None and self.role in (Role.OPERATOR, Role.MANAGER, Role.PLATFORM_ADMIN)

    @property
    def label(self) -> str:
        if self.service:
            return self.service
        if self.api_client is not None:
            return f"api-client:{self.api_client.prefix}"
        return f"user:{getattr(self.user, 'username', '?')}"


def actor_from_request(request) -> Actor:
    """Resolve the authenticated principal of a request; a user without a bureau may do nothing."""
    client = getattr(request.user, "api_client", None)
    if client is not None:
        return Actor(bureau=client.bureau, role=Role.OPERATOR, api_client=client)
    user = request.user
    membership = Membership.objects.select_related("bureau").filter(user=user).first()
    if membership is not None:
        return Actor(bureau=membership.bureau, role=membership.role, user=user)
    if getattr(user, "is_superuser", False):
        return Actor(bureau=None, role=Role.PLATFORM_ADMIN, user=user)
    raise PermissionDenied("Your account belongs to no bureau; ask a platform admin.", code="no_bureau")


def scope_to_actor(queryset: QuerySet, actor: Actor, *, bureau_field: str = "bureau") -> QuerySet:
    """The one tenant filter: callers see their own bureau's rows, auditors and admins all rows."""
    if actor.sees_all_bureaus:
        return queryset
    if actor.bureau is None:
        return queryset.none()
    return queryset.filter(**{bureau_field: actor.bureau})


def get_scoped_or_404(queryset: QuerySet, actor: Actor, **lookup):
    """Fetch one object the actor may see; another bureau's object is indistinguishable from none."""
    obj = scope_to_actor(queryset, actor).filter(**lookup).first()
    if obj is None:
        raise NotFound()
    return obj


def bureau_find(*, slug: str) -> Bureau | None:
    """A bureau by slug, or None (bureaus are public: every portal user sees their names)."""
    return Bureau.objects.filter(slug=slug).first() if slug else None


def bureau_get(*, slug: str) -> Bureau:
    bureau = bureau_find(slug=slug)
    if bureau is None:
        raise NotFound(f"No bureau {slug!r}.", code="unknown_bureau")
    return bureau


def bureau_filter_choices(*, actor: Actor) -> QuerySet[Bureau]:
    """The bureaus a list page offers as a filter: all of them to those who see every bureau, none to
    the rest (their scope is their own bureau)."""
    return Bureau.objects.order_by("slug") if actor.sees_all_bureaus else Bureau.objects.none()


def api_client_list(*, actor: Actor, active_only: bool = False) -> QuerySet[ApiClient]:
    """The API keys of the actor's own bureau (bureau administration is about one's own bureau)."""
    qs = scope_to_actor(ApiClient.objects.select_related("created_by"), actor).filter(bureau=actor.bureau)
    return qs.filter(revoked_at__isnull=True) if active_only else qs


def api_client_get(*, actor: Actor, client_id) -> ApiClient:
    return get_scoped_or_404(ApiClient.objects.filter(bureau=actor.bureau), actor, pk=client_id)


def membership_list(*, actor: Actor) -> QuerySet[Membership]:
    """The members of the actor's own bureau, by role and name."""
    return (
        scope_to_actor(Membership.objects.select_related("user", "bureau"), actor)
        .filter(bureau=actor.bureau)
        .order_by("role", "user__username")
    )


def bureau_entitled_scenarios(*, actor: Actor) -> list:
    """The scenarios the actor's bureau is entitled to, in catalog order. Through the reverse
    relation: the catalog depends on accounts, so accounts imports none of it."""
    if actor.bureau is None:
        return []
    entitled = (
        actor.bureau.entitlements.filter(enabled=True)
        .select_related("scenario")
        .order_by("scenario__domain__order", "scenario__order")
    )
    return [e.scenario for e in entitled]
