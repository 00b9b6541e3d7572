"""The webhooks tab of bureau administration: list, register (the secret is shown once), revoke, and
the recent delivery log. Managers only, for their own bureau; another bureau's webhook is a 404."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from services.accounts.portal import MANAGE_ROLES, portal_view
from services.accounts.selectors import api_client_list
from services.core.errors import ApplicationError
from services.webhooks.selectors import webhook_delivery_list, webhook_get, webhook_list
from services.webhooks.services import webhook_create, webhook_revoke


def _context(actor, **extra) -> dict:
    return {
        "webhooks": webhook_list(actor=actor, bureau=actor.bureau).order_by("revoked_at", "-created_at"),
        "clients": api_client_list(actor=actor, active_only=True).order_by("name"),
        "deliveries": webhook_delivery_list(actor=actor, bureau=actor.bureau)[:30],
        "form": {"url": "", "api_client": ""},
        "error": None,
        "new_webhook": None,
        "tab": "webhooks",
        **extra,
    }


@portal_view(*MANAGE_ROLES, needs_bureau=True)
def bureau_webhooks(request, actor):
    if request.method != "POST":
        return render(request, "webhooks/bureau_webhooks.html", _context(actor))
    form = {"url": request.POST.get("url", "").strip(), "api_client": request.POST.get("api_client", "")}
    try:
        webhook, secret = webhook_create(actor=actor, url=form["url"], api_client_id=form["api_client"] or None)
    except ApplicationError as exc:
        return render(request, "webhooks/bureau_webhooks.html", _context(actor, form=form, error=exc.message),
                      status=exc.status)
    response = render(request, "webhooks/bureau_webhooks.html",
                      _context(actor, new_webhook={"webhook": webhook, "secret": secret}))
    response["Cache-Control"] = "no-store"  # the secret exists only in this response
    return response


@portal_view(*MANAGE_ROLES, needs_bureau=True)
@require_POST
def bureau_webhook_revoke(request, actor, webhook_id):
    webhook = webhook_get(actor=actor, webhook_id=webhook_id)
    if webhook.bureau_id != actor.bureau.pk:
        raise Http404
    webhook_revoke(actor=actor, webhook=webhook)
    messages.success(request, _("The webhook is revoked; nothing more is sent to it."))
    return redirect("bureau:webhooks")
