"""Writes for the catalog: the idempotent loader, entitlements, and models put in service for a scenario."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from services.accounts.models import Bureau
from services.accounts.services import bureau_upsert
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.catalog.models import Domain, Entitlement, Scenario

DATA_DIR = Path(__file__).resolve().parent / "data"


def catalog_data() -> dict[str, Any]:
    """``data/catalog.yaml`` (bureaus, domains, shared schema pieces) plus the scenarios of every
    ``data/scenarios/*.yaml`` (one file per rule family)."""
    data = yaml.safe_load((DATA_DIR / "catalog.yaml").read_text(encoding="utf-8"))
    data.setdefault("scenarios", [])
    for path in sorted((DATA_DIR / "scenarios").glob("*.yaml")):
        data["scenarios"].extend(yaml.safe_load(path.read_text(encoding="utf-8")) or [])
    slugs = [item["slug"] for item in data["scenarios"]]
    duplicates = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if duplicates:
        raise ValueError(f"scenario slugs defined twice: {duplicates}")
    return data

_SCENARIO_FIELDS = (
    "name_zh", "name_en", "description_zh", "description_en", "method_zh", "method_en",
    "input_kind", "pipeline", "example_input", "order",
)


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _upsert(model, lookup: dict, values: dict, report: LoadReport, label: str):
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model.objects.create(**lookup, **values)
        report.created.append(label)
        return obj
    dirty = [name for name, value in values.items() if getattr(obj, name) != value]
    if dirty:
        for name in dirty:
            setattr(obj, name, values[name])
        obj.save(update_fields=dirty)
        report.updated.append(label)
    else:
        report.unchanged += 1
    return obj


def _schema_with_defs(schema: dict, shared_defs: dict) -> dict:
    if not schema:
        return {"type": "object"}
    text = yaml.safe_dump(schema)
    used = {name: d for name, d in shared_defs.items() if f"#/$defs/{name}" in text}
    if not used:
        return schema
    return {**schema, "$defs": {**used, **schema.get("$defs", {})}}


@transaction.atomic
def catalog_load(*, data: dict[str, Any] | None = None, by: str = "system") -> LoadReport:
    """Bring bureaus, domains and scenarios in line with the catalog data; rows not in it stay.

    ``by`` labels the actor in the audit entry a change leaves (``command:load_catalog``, ``user:…``).
    """
    if data is None:
        data = catalog_data()
    report = LoadReport()
    for item in data.get("bureaus", []):
        existing = Bureau.objects.filter(slug=item["slug"]).first()
        if existing and (existing.name_zh, existing.name_en) == (item["name_zh"], item["name_en"]):
            report.unchanged += 1
            continue
        bureau_upsert(**item)
        (report.updated if existing else report.created).append(f"bureau:{item['slug']}")
    domains = {}
    for item in data.get("domains", []):
        values = {k: item[k] for k in ("name_zh", "name_en", "order")}
        domains[item["slug"]] = _upsert(Domain, {"slug": item["slug"]}, values, report, f"domain:{item['slug']}")
    shared_defs = data.get("schema_defs", {})
    for item in data.get("scenarios", []):
        owner = Bureau.objects.get(slug=item["owner"]) if item.get("owner") else None
        values = {name: item.get(name, "" if name != "order" else 0) for name in _SCENARIO_FIELDS}
        values.update(
            domain=domains[item["domain"]] if item["domain"] in domains else Domain.objects.get(slug=item["domain"]),
            owner_bureau=owner,
            model_names=list(item.get("models", [])),
            example_params=item.get("example_params") or {},
            params_schema=_schema_with_defs(item.get("params_schema") or {}, shared_defs),
            status=item.get("status", Scenario.Status.ACTIVE),
        )
        existing = Scenario.objects.filter(slug=item["slug"]).only("custom_model").first()
        if existing is not None and existing.custom_model:
            for name in ("status", "pipeline", "model_names", "params_schema"):
                values.pop(name)
        _upsert(Scenario, {"slug": item["slug"]}, values, report, f"scenario:{item['slug']}")
    if report.changed:
        audit_record(
            action=AuditEntry.Action.CATALOG_CHANGED, actor=by, object_type="catalog",
            details={"created": report.created, "updated": report.updated},
        )
    return report


@transaction.atomic
def entitlement_upsert(
    *, bureau: Bureau, scenario: Scenario, enabled: bool = True, daily_quota: int = 1000,
    monthly_compute_budget_s: int = 36_000, tier: str = Entitlement.Tier.NORMAL, by: str = "system",
) -> Entitlement:
    """Grant or change a bureau's entitlement; a real change leaves an audit entry by ``by``."""
    values = {
        "enabled": enabled,
        "daily_quota": daily_quota,
        "monthly_compute_budget_s": monthly_compute_budget_s,
        "tier": tier,
    }
    before = Entitlement.objects.filter(bureau=bureau, scenario=scenario).values(*values).first()
    entitlement, _ = Entitlement.objects.update_or_create(bureau=bureau, scenario=scenario, defaults=values)
    if before != values:
        audit_record(
            action=AuditEntry.Action.ENTITLEMENT_CHANGED, actor=by, bureau=bureau.slug, object_type="entitlement",
            object_id=f"{bureau.slug}:{scenario.slug}", details={"values": values, "previous": before},
        )
    return entitlement


@transaction.atomic
def scenario_custom_model_set(
    *, scenario: Scenario, model_name: str, pipeline: str, params_schema: dict[str, Any], by: str, bureau: str = "",
    details: dict[str, Any] | None = None,
) -> Scenario:
    """Put a model supplied for a "model needed" scenario in service: the scenario becomes active and
    runs that model with ``pipeline``; the loader leaves these fields alone from now on (``custom_model``).

    Who put it in service and what it replaced is an audit entry by ``by`` (a label; ``bureau`` is
    the actor's bureau slug); ``details`` adds what the caller knows of the model (labels, digest).
    """
    values = {
        "custom_model": model_name, "status": Scenario.Status.ACTIVE, "pipeline": pipeline,
        "model_names": [model_name], "params_schema": params_schema,
    }
    previous = {name: getattr(scenario, name) for name in values if name != "params_schema"}
    for name, value in values.items():
        setattr(scenario, name, value)
    scenario.save(update_fields=list(values))  # the save also clears the cached scenario (configcache)
    audit_record(
        action=AuditEntry.Action.CATALOG_CHANGED, actor=by, bureau=bureau, object_type="scenario",
        object_id=scenario.slug,
        details={**(details or {}), "custom_model": model_name, "pipeline": pipeline, "previous": previous},
    )
    return scenario
