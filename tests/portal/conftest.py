"""Portal test fixtures; the browser fixtures come from tests/browser.py."""

import pytest

from services.accounts.models import Membership
from services.accounts.services import member_upsert
from tests.conftest import PASSWORD


@pytest.fixture
def manager_a(bureau_a):
    return member_upsert(bureau=bureau_a, username="mgr_a", password=PASSWORD, role=Membership.Role.MANAGER).user
