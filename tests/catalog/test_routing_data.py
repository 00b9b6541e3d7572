"""The shipped routing data keeps its promises (a Longgang-like district, ≥ 30 exemplars a bureau,
evaluation texts apart from exemplars), loads idempotently with an audit entry, is managed in the
admin, and places decide between offices of one domain."""

from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from services.audit.models import AuditEntry
from services.catalog.exemplars import routing_exemplars_data, routing_exemplars_load
from services.catalog.models import RoutingExemplar, RoutingTarget
from services.catalog.services import catalog_data
from services.inference.pipelines.text_routing import matched_places, refine

ROUTING = routing_exemplars_data()["complaint-routing"]
EVAL_SET = Path(__file__).resolve().parents[2] / "evaluation" / "sets" / "routing" / "set.yaml"


def test_a_longgang_like_default_with_enough_exemplars():
    bureaus = {b["slug"] for b in catalog_data()["bureaus"]}
    assert set(ROUTING) <= bureaus and len(ROUTING) >= 12
    assert {"water-affairs", "traffic-police", "fire-rescue"} <= set(ROUTING)
    offices = [b for b, e in ROUTING.items() if e["domain"] == "sub-district"]
    assert len(offices) == 11 and all(ROUTING[b]["places"] for b in offices)
    for bureau, entry in ROUTING.items():
        assert len(entry["exemplars"]) >= 30, bureau
    texts = Counter(t for e in ROUTING.values() for t in e["exemplars"])
    assert texts.most_common(1)[0][1] == 1  # no text labelled twice
    places = Counter(p for e in ROUTING.values() for p in e["places"])
    assert places.most_common(1)[0][1] == 1  # a place names one office


def test_evaluation_texts_are_not_exemplars():
    samples = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))["samples"]
    exemplars = {t for e in ROUTING.values() for t in e["exemplars"]}
    assert len(samples) >= 100 and not exemplars & {s["text"] for s in samples}


def test_places_split_a_domain_and_leave_other_bureaus_alone():
    targets = {"a": SimpleNamespace(domain="sd", places=["坂田街道", "岗头社区"]),
               "b": SimpleNamespace(domain="sd", places=["布吉老街"]),
               "c": SimpleNamespace(domain="water", places=[])}
    classes = ["a", "b", "c"]
    p, _, hits = refine(classes, np.array([0.2, 0.5, 0.3]), "坂田街道岗头社区的工厂欠薪", targets, {}, 1.0)
    assert hits == {"a": ["坂田街道", "岗头社区"]}
    assert p == pytest.approx([0.7, 0.0, 0.3])  # the domain's 0.7 goes to the named office
    both, _, _ = refine(classes, np.array([0.2, 0.5, 0.3]), "坂田和布吉老街", targets, {}, 1.0)
    assert both[0] + both[1] == pytest.approx(0.7) and both[1] > both[0]  # two named: still doubtful
    keyworded, kw, _ = refine(classes, np.array([0.4, 0.2, 0.4]), "河道堵了", targets, {"c": ["河道"]}, 1.0)
    assert kw == {"c": ["河道"]} and keyworded[2] > 0.5
    assert matched_places("坂田街道", ["坂田", "坂田街道"]) == ["坂田街道"]


@pytest.mark.django_db
def test_loader_is_idempotent_audited_and_keeps_admin_rows(catalog, admin_client):
    report = routing_exemplars_load(by="command:test")
    assert report.targets_created == len(ROUTING)
    assert AuditEntry.objects.filter(object_type="routing_exemplars", actor="command:test").count() == 1
    target = RoutingTarget.objects.get(bureau__slug="subdistrict-buji")
    assert target.domain == "sub-district" and "布吉老街" in target.places
    added = RoutingExemplar.objects.create(scenario=target.scenario, target_bureau=target.bureau, text=" 布吉关口有人 ")
    assert added.text == "布吉关口有人" and len(added.text_sha256) == 64
    again = routing_exemplars_load(by="command:test")
    assert not again.changed and RoutingExemplar.objects.filter(pk=added.pk).exists()
    assert AuditEntry.objects.filter(object_type="routing_exemplars").count() == 1
    for url in ("/admin/catalog/routingexemplar/", "/admin/catalog/routingtarget/", "/admin/catalog/routingclassifier/",
                f"/admin/accounts/bureau/{target.bureau.pk}/change/"):
        assert admin_client.get(url).status_code == 200, url
