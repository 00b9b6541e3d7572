from django.contrib import admin

from services.accounts.admin import BureauAdmin
from services.accounts.models import Bureau
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.catalog.exemplars import announce_routing_change
from services.catalog.models import Domain, Entitlement, RoutingClassifier, RoutingExemplar, RoutingTarget, Scenario


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_zh", "name_en", "order")


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_zh", "domain", "input_kind", "pipeline", "status", "owner_bureau")
    list_filter = ("domain", "input_kind", "status", "pipeline")
    search_fields = ("slug", "name_zh", "name_en")


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    list_display = ("bureau", "scenario", "enabled", "daily_quota", "tier")
    list_filter = ("bureau", "tier", "enabled")


# --- 12345 routing: targets and exemplars are data a platform admin manages --------------------


def _routing_changed(request, scenario_slugs, what: str, details: dict | None = None) -> None:
    """Audit an admin's change to routing data and announce it, so the router retrains."""
    by = f"user:{request.user.get_username()}"
    for slug in sorted(set(scenario_slugs)):
        audit_record(action=AuditEntry.Action.CATALOG_CHANGED, actor=by, object_type="routing", object_id=slug,
                     details={"change": what, **(details or {})})
        announce_routing_change(slug, by=by)


class RoutingAdminMixin:
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _routing_changed(request, [obj.scenario.slug], f"{type(obj).__name__} {'changed' if change else 'added'}",
                         {"id": obj.pk})

    def delete_model(self, request, obj):
        slug = obj.scenario.slug
        super().delete_model(request, obj)
        _routing_changed(request, [slug], f"{type(obj).__name__} deleted")

    def delete_queryset(self, request, queryset):
        slugs = list(queryset.values_list("scenario__slug", flat=True))
        count = queryset.count()
        super().delete_queryset(request, queryset)
        _routing_changed(request, slugs, f"{count} {queryset.model.__name__} deleted")


@admin.register(RoutingTarget)
class RoutingTargetAdmin(RoutingAdminMixin, admin.ModelAdmin):
    list_display = ("bureau", "scenario", "domain", "enabled", "updated_at")
    list_filter = ("scenario", "domain", "enabled")
    search_fields = ("bureau__slug", "bureau__name_zh", "domain")


@admin.register(RoutingExemplar)
class RoutingExemplarAdmin(RoutingAdminMixin, admin.ModelAdmin):
    list_display = ("excerpt", "target_bureau", "scenario", "origin", "added_by", "created_at")
    list_filter = ("scenario", "origin", "target_bureau")
    search_fields = ("text", "note")
    readonly_fields = ("origin", "source_request", "embedding_version", "created_at")
    fields = ("scenario", "target_bureau", "text", "note", "added_by", "origin", "source_request",
              "embedding_version", "created_at")

    @admin.display(description="text")
    def excerpt(self, obj) -> str:
        return obj.text[:60]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.origin = RoutingExemplar.Origin.ADMIN
        super().save_model(request, obj, form, change)


@admin.register(RoutingClassifier)
class RoutingClassifierAdmin(admin.ModelAdmin):
    """Read only: rows are written by the routing trainer."""

    list_display = ("scenario", "trained_at", "exemplars", "cv_top1", "trained_by", "train_seconds")
    list_filter = ("scenario",)
    exclude = ("weights",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RoutingTargetInline(admin.TabularInline):
    """On a bureau's admin page: which routing scenarios send it complaints (a district adds its
    water affairs bureau or a sub-district office here, then its exemplars)."""

    model = RoutingTarget
    extra = 0
    fields = ("scenario", "domain", "places", "enabled")


class BureauWithRoutingAdmin(BureauAdmin):
    inlines = [*BureauAdmin.inlines, RoutingTargetInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        slugs = [f.instance.scenario.slug for fs in formsets if fs.model is RoutingTarget
                 for f in fs.forms if f.has_changed() and f.instance.pk and f.instance.scenario_id]
        if slugs:
            _routing_changed(request, slugs, f"targets of {form.instance.slug} changed")


admin.site.unregister(Bureau)
admin.site.register(Bureau, BureauWithRoutingAdmin)
