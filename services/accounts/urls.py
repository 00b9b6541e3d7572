from django.urls import path

from services.accounts import views

# Bureau administration, mounted at /bureau/ in the namespace "bureau" (with the inference app's
# entitlements tab, which needs request counts).
portal_urlpatterns = [
    path("keys/", views.api_keys, name="keys"),
    path("keys/<uuid:key_id>/revoke/", views.api_key_revoke, name="key-revoke"),
    path("members/", views.members, name="members"),
]
