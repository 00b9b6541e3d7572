"""Routing targets and exemplars: which bureaus a text-routing scenario sends complaints to, and the
labelled complaints its classifier is trained on.

Kept apart from the catalog loader because exemplars are many, grow with the bureaus' own
contributions (admins, dispatchers' re-routes), and are loaded after the catalog (they point at
scenarios and bureaus). A change announces ``routing_data_changed`` after it commits, which the
routing trainer (services/inference/routing.py) follows.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from services.accounts.models import Bureau
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.catalog.models import RoutingExemplar, RoutingTarget, Scenario
from services.catalog.signals import routing_data_changed

EXEMPLARS_FILE = Path(__file__).resolve().parent / "data" / "routing_exemplars.yaml"


@dataclass
class ExemplarLoadReport:
    created: int = 0
    unchanged: int = 0
    targets_created: int = 0
    targets_updated: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.targets_created or self.targets_updated)


def routing_exemplars_data(path: Path = EXEMPLARS_FILE) -> dict[str, dict[str, dict[str, Any]]]:
    """scenario slug → bureau slug → {domain, places, exemplars}. A bare list under a bureau is its
    exemplars (the bureau is its own domain), as older data files wrote it."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected scenario slug → bureau slug → exemplars")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for scenario_slug, by_bureau in data.items():
        out[scenario_slug] = {}
        for bureau_slug, entry in (by_bureau or {}).items():
            if isinstance(entry, list):
                entry = {"exemplars": entry}
            unknown = set(entry) - {"domain", "places", "exemplars"}
            if unknown:
                raise ValueError(f"{path.name}: {scenario_slug}/{bureau_slug} has unknown keys {sorted(unknown)}")
            out[scenario_slug][bureau_slug] = {
                "domain": entry.get("domain") or bureau_slug,
                "places": [str(p).strip() for p in entry.get("places") or [] if str(p).strip()],
                "exemplars": [str(t).strip() for t in entry.get("exemplars") or [] if str(t).strip()],
            }
    return out


def announce_routing_change(scenario_slug: str, *, by: str, wait: bool = False) -> None:
    transaction.on_commit(
        lambda: routing_data_changed.send(sender=RoutingExemplar, scenario_slug=scenario_slug, by=by, wait=wait)
    )


@transaction.atomic
def routing_exemplars_load(
    *, data: dict[str, dict[str, Any]] | None = None, by: str = "system", wait: bool = False
) -> ExemplarLoadReport:
    """Add the catalog's targets and exemplars that are missing and bring the targets' domain and
    places in line; idempotent (one exemplar per scenario, bureau and text hash). Rows not in the
    data — admins' and dispatchers' exemplars, targets a district added — stay. Run after
    load_catalog. A change is audited and announced (``wait``: train now, in this process)."""
    data = routing_exemplars_data() if data is None else data
    report = ExemplarLoadReport()
    for scenario_slug, by_bureau in data.items():
        scenario = Scenario.objects.filter(slug=scenario_slug).first()
        if scenario is None:
            raise ValueError(f"routing exemplars name unknown scenario {scenario_slug!r}; run load_catalog first")
        before = report.changed, report.created
        bureaus = {b.slug: b for b in Bureau.objects.filter(slug__in=list(by_bureau))}
        missing = sorted(set(by_bureau) - set(bureaus))
        if missing:
            raise ValueError(f"routing exemplars name unknown bureaus {missing}; add them to catalog.yaml")
        existing = set(
            RoutingExemplar.objects.filter(scenario=scenario).values_list("target_bureau__slug", "text_sha256")
        )
        new_rows = []
        for bureau_slug, entry in by_bureau.items():
            if isinstance(entry, list):
                entry = {"exemplars": entry}
            bureau = bureaus[bureau_slug]
            values = {"domain": entry.get("domain") or bureau_slug, "places": list(entry.get("places") or [])}
            target = RoutingTarget.objects.filter(scenario=scenario, bureau=bureau).first()
            if target is None:
                RoutingTarget.objects.create(scenario=scenario, bureau=bureau, **values)
                report.targets_created += 1
            elif (target.domain, target.places) != (values["domain"], values["places"]):
                target.domain, target.places = values["domain"], values["places"]
                target.save(update_fields=["domain", "places", "updated_at"])
                report.targets_updated += 1
            for text in entry.get("exemplars") or []:
                text = text.strip()
                digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                if (bureau_slug, digest) in existing:
                    report.unchanged += 1
                    continue
                existing.add((bureau_slug, digest))
                new_rows.append(RoutingExemplar(scenario=scenario, target_bureau=bureau, text=text,
                                                text_sha256=digest, origin=RoutingExemplar.Origin.CATALOG))
        RoutingExemplar.objects.bulk_create(new_rows)
        report.created += len(new_rows)
        if (report.changed, report.created) != before:
            audit_record(
                action=AuditEntry.Action.CATALOG_CHANGED, actor=by, object_type="routing_exemplars",
                object_id=scenario_slug,
                details={"exemplars_created": report.created - before[1],
                         "targets_created": report.targets_created, "targets_updated": report.targets_updated},
            )
            announce_routing_change(scenario_slug, by=by, wait=wait)
    return report


@transaction.atomic
def routing_exemplar_add(
    *, scenario: Scenario, bureau: Bureau, text: str, origin: str, added_by: Bureau | None, by: str,
    note: str = "", source_request=None,
) -> tuple[RoutingExemplar, bool]:
    """One labelled complaint (an admin's, or a dispatcher's correction): audited, announced so the
    router retrains. The same text for the same bureau twice is one row (``created`` False)."""
    if not RoutingTarget.objects.filter(scenario=scenario, bureau=bureau, enabled=True).exists():
        raise ValueError(f"{bureau.slug!r} is not a routing target of {scenario.slug!r}")
    text = text.strip()
    if not text:
        raise ValueError("an exemplar needs a text")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    exemplar, created = RoutingExemplar.objects.get_or_create(
        scenario=scenario, target_bureau=bureau, text_sha256=digest,
        defaults={"text": text, "origin": origin, "added_by": added_by, "note": note[:500],
                  "source_request": source_request},
    )
    if created:
        audit_record(
            action=AuditEntry.Action.CATALOG_CHANGED, actor=by, bureau=added_by.slug if added_by else "",
            object_type="routing_exemplar", object_id=str(exemplar.pk),
            details={"scenario": scenario.slug, "bureau": bureau.slug, "origin": origin, "note": note[:500],
                     "source_request": str(source_request) if source_request else None,
                     "text_sha256": digest},
        )
        announce_routing_change(scenario.slug, by=by)
    return exemplar, created
