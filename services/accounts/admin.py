from django.contrib import admin

from services.accounts.models import ApiClient, Bureau, Membership


@admin.register(Bureau)
class BureauAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_zh", "name_en", "kind")
    search_fields = ("slug", "name_zh", "name_en")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "bureau", "role")
    list_filter = ("role", "bureau")


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("name", "bureau", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("bureau",)
    readonly_fields = ("prefix", "key_hash", "last_used_at")
