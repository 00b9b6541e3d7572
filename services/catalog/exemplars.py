"""Routing exemplars: labelled complaints that text-routing scenarios compare new complaints with.

Kept apart from the catalog loader because exemplars are many, grow with the bureaus' own
contributions, and are loaded after the catalog (they point at scenarios and bureaus).
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from services.accounts.models import Bureau
from services.catalog.models import RoutingExemplar, Scenario

EXEMPLARS_FILE = Path(__file__).resolve().parent / "data" / "routing_exemplars.yaml"


@dataclass
class ExemplarLoadReport:
    created: int = 0
    unchanged: int = 0


def routing_exemplars_data(path: Path = EXEMPLARS_FILE) -> dict[str, dict[str, list[str]]]:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected scenario slug → bureau slug → list of texts")
    return data


@transaction.atomic
def routing_exemplars_load(*, data: dict[str, dict[str, list[str]]] | None = None) -> ExemplarLoadReport:
    """Add the catalog's exemplars that are missing; idempotent (one row per scenario, bureau and
    text hash). Rows not in the data — bureaus' own exemplars — stay. Run after load_catalog."""
    if data is None:
        data = routing_exemplars_data()
    report = ExemplarLoadReport()
    for scenario_slug, by_bureau in data.items():
        scenario = Scenario.objects.filter(slug=scenario_slug).first()
        if scenario is None:
            raise ValueError(f"routing exemplars name unknown scenario {scenario_slug!r}; run load_catalog first")
        for bureau_slug, texts in by_bureau.items():
            bureau = Bureau.objects.filter(slug=bureau_slug).first()
            if bureau is None:
                raise ValueError(f"routing exemplars name unknown bureau {bureau_slug!r}")
            for text in texts:
                text = text.strip()
                digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                _, created = RoutingExemplar.objects.get_or_create(
                    scenario=scenario, target_bureau=bureau, text_sha256=digest, defaults={"text": text}
                )
                if created:
                    report.created += 1
                else:
                    report.unchanged += 1
    return report
