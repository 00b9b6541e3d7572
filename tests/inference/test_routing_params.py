"""text_routing's params name catalog rows; the check that they exist reads the database, so it lives
in services/inference/routing.py and the rule module reads nothing itself."""

import pytest

from services.catalog.services import catalog_load
from services.inference import pipelines


@pytest.mark.django_db
def test_the_family_refuses_params_naming_rows_that_do_not_exist():
    catalog_load()
    check = pipelines.get("text_routing").check_params
    check({"exemplar_scenario": "complaint-routing", "keywords": {"water-affairs": ["水"]}})
    with pytest.raises(ValueError, match="not a text_routing scenario"):
        check({"exemplar_scenario": "crowd-gathering"})
    with pytest.raises(ValueError, match="unknown bureaus"):
        check({"exemplar_scenario": "complaint-routing", "keywords": {"no-such-bureau": ["x"]}})
