"""Bureau administration pages for bureau managers: API keys and members.

A manager administers their own bureau only; a platform admin uses these pages for the bureau they
belong to and Django admin for the rest. The selectors scope every list and object to the actor and
narrow it to the manager's bureau, so another bureau's key is a 404. The entitlements tab lives in
the inference app, which counts usage (see its views).
"""

from datetime import datetime, time

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from services.accounts.models import Membership
from services.accounts.portal import MANAGE_ROLES, portal_view
from services.accounts.selectors import (
    api_client_get,
    api_client_list,
    bureau_entitled_scenarios,
    membership_list,
)
from services.accounts.services import api_client_create, api_client_revoke, member_add
from services.core.errors import ApplicationError


def _keys_context(actor, **extra) -> dict:
    return {
        "keys": api_client_list(actor=actor).order_by("revoked_at", "-created_at"),
        "entitled": bureau_entitled_scenarios(actor=actor),
        "form": {"name": "", "scopes": [], "expires": ""},
        "errors": {},
        "new_key": None,
        "tab": "keys",
        "today": timezone.localdate(),
        **extra,
    }


def _parse_expiry(text: str) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ApplicationError(_("Enter the expiry date as YYYY-MM-DD."), code="invalid_expiry") from None
    if day <= timezone.localdate():
        raise ApplicationError(_("The expiry date must be in the future."), code="invalid_expiry")
    # A key is valid through the whole of its last day.
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


@portal_view(*MANAGE_ROLES, needs_bureau=True)
def api_keys(request, actor):
    """List the bureau's keys and create one; a new key is shown in this response only."""
    if request.method != "POST":
        return render(request, "accounts/bureau_keys.html", _keys_context(actor))
    context = _keys_context(actor)
    allowed = {s.slug for s in context["entitled"]}
    form = {
        "name": request.POST.get("name", "").strip(),
        "scopes": [s for s in request.POST.getlist("scopes") if s],
        "expires": request.POST.get("expires", "").strip(),
    }
    errors = {}
    if not form["name"] or len(form["name"]) > 200:
        errors["name"] = _("Give the key a name of at most 200 characters, e.g. the calling system.")
    if set(form["scopes"]) - allowed:
        errors["scopes"] = _("A key can only be scoped to scenarios your bureau is entitled to.")
    expires_at = None
    try:
        expires_at = _parse_expiry(form["expires"])
    except ApplicationError as exc:
        errors["expires"] = exc.message
    if errors:
        context.update(form=form, errors=errors)
        return render(request, "accounts/bureau_keys.html", context, status=400)
    client, key = api_client_create(
        bureau=actor.bureau, name=form["name"], scopes=form["scopes"], expires_at=expires_at, created_by=actor.user
    )
    context = _keys_context(actor, new_key={"client": client, "key": key})
    response = render(request, "accounts/bureau_keys.html", context)
    # The key exists only in this response: keep it out of every cache.
    response["Cache-Control"] = "no-store"
    return response


@portal_view(*MANAGE_ROLES, needs_bureau=True)
@require_POST
def api_key_revoke(request, actor, key_id):
    client = api_client_get(actor=actor, client_id=key_id)
    api_client_revoke(client=client, revoked_by=actor.user)
    messages.success(request, _("The key “%(name)s” is revoked; calls with it now fail.") % {"name": client.name})
    return redirect("bureau:keys")


@portal_view(*MANAGE_ROLES, needs_bureau=True)
def members(request, actor):
    """List the bureau's members and add an operator."""
    form = {"username": "", "email": ""}
    errors = {}
    status = 200
    if request.method == "POST":
        form = {"username": request.POST.get("username", "").strip(), "email": request.POST.get("email", "").strip()}
        password = request.POST.get("password", "")
        if password != request.POST.get("password2", ""):
            errors["password"] = _("The two passwords differ.")
        else:
            try:
                member_add(bureau=actor.bureau, username=form["username"], password=password,
                           role=Membership.Role.OPERATOR, email=form["email"], added_by=actor.user)
            except ApplicationError as exc:
                field = "password" if exc.code == "weak_password" else "username"
                errors[field] = exc.message
        if not errors:
            messages.success(request, _("%(name)s was added as an operator.") % {"name": form["username"]})
            return redirect("bureau:members")
        status = 400
    return render(request, "accounts/bureau_members.html", {
        "memberships": membership_list(actor=actor), "form": form, "errors": errors, "tab": "members",
    }, status=status)
