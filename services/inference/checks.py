"""System checks that the catalog and the inference code agree.

The catalog names each scenario's rule family as data; only inference knows which families exist.
Checking it here (``manage.py check``, run by bin/test and before every management command) keeps
the catalog free of imports from the layer above it.
"""

from django.core import checks


@checks.register("catalog")
def catalog_families_exist(app_configs=None, scenarios=None, **kwargs) -> list[checks.CheckMessage]:
    """``scenarios`` defaults to the shipped catalog data."""
    from services.catalog.services import catalog_data
    from services.inference import pipelines

    known = set(pipelines.names())
    if scenarios is None:
        scenarios = catalog_data()["scenarios"]
    return [
        checks.Error(
            f"Scenario {item['slug']!r} uses the rule family {item['pipeline']!r}, which no pipeline module registers.",
            hint="Register it in services/inference/pipelines/ or fix the scenario's 'pipeline' in the catalog data.",
            id="inference.E001",
        )
        for item in scenarios
        if item["pipeline"] not in known
    ]
