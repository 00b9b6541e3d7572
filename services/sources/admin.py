from django.contrib import admin

from services.sources.models import Binding, Source


class BindingInline(admin.TabularInline):
    model = Binding
    extra = 0
    fields = ["scenario", "zone_name", "interval_s", "enabled", "next_run_at", "last_run_at", "last_error"]
    readonly_fields = ["next_run_at", "last_run_at", "last_error"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "bureau", "kind", "mode", "status", "enabled", "last_seen_at", "consecutive_failures"]
    list_filter = ["status", "kind", "mode", "enabled"]
    search_fields = ["name", "address"]
    exclude = ["key_hash"]
    readonly_fields = ["status", "last_error", "last_seen_at", "consecutive_failures", "next_pull_at", "key_prefix"]
    inlines = [BindingInline]


@admin.register(Binding)
class BindingAdmin(admin.ModelAdmin):
    list_display = ["scenario", "source", "interval_s", "enabled", "last_run_at", "last_error"]
    list_filter = ["enabled"]
    readonly_fields = ["last_request"]
