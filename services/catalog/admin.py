from django.contrib import admin

from services.catalog.models import Domain, Entitlement, Scenario


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
