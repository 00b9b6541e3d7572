"""System checks that the catalog and the inference code agree (E001), and that a drain fits its
Celery time limit (E002).

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


@checks.register("celery")
def drain_fits_time_limit(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A drain stops claiming after ``CITYAI_DRAIN_MAX_SECONDS`` but finishes the batch it holds, so
    half the soft time limit is left for that batch; a longer drain would be killed mid-batch, and its
    requests would wait for their leases to run out."""
    from django.conf import settings

    drain, soft = settings.CITYAI_DRAIN_MAX_SECONDS, settings.CELERY_TASK_SOFT_TIME_LIMIT
    if soft and drain > soft / 2:
        return [checks.Error(
            f"CITYAI_DRAIN_MAX_SECONDS ({drain:g}) is more than half of CELERY_TASK_SOFT_TIME_LIMIT ({soft}).",
            hint="Lower CITYAI_DRAIN_MAX_SECONDS or raise the Celery time limits (the last batch needs the rest).",
            id="inference.E002",
        )]
    return []
