"""Demo tenants for a first look: two bureaus with users, an auditor, and one API key."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from services.accounts.models import ApiClient, Bureau, Membership
from services.accounts.services import api_client_create, bureau_upsert, member_upsert
from services.catalog.models import Scenario
from services.catalog.services import catalog_load, entitlement_upsert

DEMO_PASSWORD = "cityai-demo"  # noqa: S105 - documented demo login, local only
# A fixed demo key so that the README's curl example works as printed; never used in production.
DEMO_API_KEY = "cai_demo0001_longgang-demo-key-for-local-use-only"


class Command(BaseCommand):
    help = "Create demo bureaus, users (password 'cityai-demo'), entitlements and a demo API key."

    def add_arguments(self, parser):
        parser.add_argument("--admin-password", default=DEMO_PASSWORD)

    def handle(self, *args, **options):
        catalog_load()
        urban = Bureau.objects.get(slug="urban-management")
        police = Bureau.objects.get(slug="public-security")
        audit = bureau_upsert(slug="audit-office", name_zh="区审计局", name_en="District Audit Office")
        platform = bureau_upsert(
            slug="platform", name_zh="区智慧城市运营中心", name_en="District Smart City Operations Centre"
        )
        Role = Membership.Role
        member_upsert(bureau=urban, username="urban_operator", password=DEMO_PASSWORD, role=Role.OPERATOR)
        member_upsert(bureau=urban, username="urban_manager", password=DEMO_PASSWORD, role=Role.MANAGER)
        member_upsert(bureau=police, username="police_operator", password=DEMO_PASSWORD, role=Role.OPERATOR)
        member_upsert(bureau=audit, username="auditor", password=DEMO_PASSWORD, role=Role.AUDITOR)
        # The operations centre watches the whole district read-only (/ops/): an auditor of its bureau.
        member_upsert(bureau=platform, username="ops_centre", password=DEMO_PASSWORD, role=Role.AUDITOR)
        admin = member_upsert(
            bureau=platform, username="admin", password=options["admin_password"], role=Role.PLATFORM_ADMIN
        ).user
        user_model = get_user_model()
        user_model.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
        for bureau in (urban, police, platform):
            for scenario in Scenario.objects.filter(status=Scenario.Status.ACTIVE):
                entitlement_upsert(bureau=bureau, scenario=scenario)
        if not ApiClient.objects.filter(prefix="demo0001").exists():
            api_client_create(bureau=urban, name="城管局数据中心 (demo)", key=DEMO_API_KEY)
        self.stdout.write(self.style.SUCCESS("demo bureaus, users, entitlements and API key are in place"))
