"""The routing trainer: a classifier on the shipped sentence encoder's embeddings of a text-routing
scenario's exemplars, retrained whenever they change, and the router the pipeline loads from it.

Why a trained classifier instead of nearest exemplars: with hundreds of exemplars over twenty
bureaus, multinomial logistic regression on the 512-d USE embeddings learns which directions of the
space separate bureaus (cross-validated on the exemplars it beat nearest centroids and k-nearest
cosines; see services/inference/pipelines/text_routing.py). Nothing is downloaded: the encoder is the
``text_encoder`` Triton model and scikit-learn fits in well under a second.

Where the model lives: a ``catalog.RoutingClassifier`` row (weights inside), keyed by a fingerprint
of what it was trained on. Every worker reads the same row; a process keeps the decoded weights in
memory per row. Training happens

- when the data changes: ``routing_data_changed`` (an admin's exemplar, a dispatcher's re-route,
  ``load_catalog``) queues ``inference.routing_train`` on the bulk queue, or trains in the
  process when the sender waits (``load_catalog``);
- and, as the safety net, in the pipeline itself when no row matches the current data (a worker
  without a broker, a change made by hand in the database), so a complaint is never routed by a
  model that predates the data.

Exemplar embeddings are stored on their rows with the encoder version, so retraining after one new
exemplar embeds one text.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from celery import shared_task
from django.db import IntegrityError, transaction

from services.accounts.models import Bureau
from services.catalog.models import RoutingClassifier, RoutingExemplar, RoutingTarget, Scenario
from services.inference import pipelines
from services.inference.pipelines import Context
from services.inference.pipelines.primitives import embed_texts
from services.inference.pipelines.text_entities import embeddings_for

logger = logging.getLogger(__name__)

TRAIN_TASK = "inference.routing_train"
# Inverse regularisation of the logistic regression, chosen by 5-fold cross-validation on the shipped
# exemplars (1, 4, 10, 30, 100 tried; 4 had the best top-1 and domain accuracy), never on evaluation data.
DEFAULT_C = 4.0
EMBEDDING_DIMS = 512
CV_FOLDS = 5


@dataclass
class Target:
    bureau: str
    name_zh: str
    name_en: str
    domain: str
    places: list[str]


@dataclass
class Router:
    """A trained classifier with the targets it routes to, ready to score one embedding."""

    classifier_id: int
    trained_at: str
    exemplars: int
    cv_top1: float | None
    targets: dict[str, Target]
    classes: list[str]
    weights: np.ndarray
    intercepts: np.ndarray
    scenario_id: int
    _examples: tuple[np.ndarray, list[str], list[str]] | None = field(default=None, repr=False)

    def probabilities(self, embedding: np.ndarray) -> np.ndarray:
        logits = self.weights @ embedding + self.intercepts
        logits = logits - logits.max()
        p = np.exp(logits)
        return p / p.sum()

    def examples(self) -> tuple[np.ndarray, list[str], list[str]]:
        """(embeddings, bureau slugs, texts) of the training exemplars, for "nearest exemplar"
        explanations; read once per process and model."""
        if self._examples is None:
            rows = list(
                RoutingExemplar.objects.filter(scenario_id=self.scenario_id, target_bureau__slug__in=self.classes)
                .exclude(embedding=None)
                .values_list("embedding", "target_bureau__slug", "text")
            )
            matrix = (np.stack([np.frombuffer(bytes(r[0]), dtype=np.float32) for r in rows])
                      if rows else np.zeros((0, EMBEDDING_DIMS), np.float32))
            self._examples = (matrix, [r[1] for r in rows], [r[2] for r in rows])
        return self._examples


_cache: dict[int, Router] = {}
_cache_lock = threading.Lock()


def _targets(scenario: Scenario) -> dict[str, Target]:
    rows = (RoutingTarget.objects.filter(scenario=scenario, enabled=True)
            .select_related("bureau").order_by("bureau__slug"))
    return {t.bureau.slug: Target(t.bureau.slug, t.bureau.name_zh, t.bureau.name_en, t.domain, list(t.places))
            for t in rows}


def routing_fingerprint(scenario: Scenario, encoder_version: str) -> str:
    """What a classifier depends on: enabled targets (domain, places), their exemplars' labels and
    texts, and the encoder version. Cheap enough to compute per request (hashes, not texts)."""
    digest = hashlib.sha256(f"v1|{encoder_version}".encode())
    for slug, domain, places in (RoutingTarget.objects.filter(scenario=scenario, enabled=True)
                                 .order_by("bureau__slug").values_list("bureau__slug", "domain", "places")):
        digest.update(f"|t:{slug}:{domain}:{','.join(places or [])}".encode())
    enabled = RoutingTarget.objects.filter(scenario=scenario, enabled=True).values("bureau_id")
    for slug, text_hash in (RoutingExemplar.objects.filter(scenario=scenario, target_bureau_id__in=enabled)
                            .order_by("target_bureau__slug", "text_sha256")
                            .values_list("target_bureau__slug", "text_sha256")):
        digest.update(f"|e:{slug}:{text_hash}".encode())
    return digest.hexdigest()


def _encoder_version(ctx: Context) -> str:
    """The text_encoder version Triton serves now (the last call's, or one small call)."""
    for call in reversed(ctx.calls):
        if call.model == "text_encoder":
            return call.version
    embed_texts(ctx, ["版本"])
    return ctx.calls[-1].version


def _embed_missing(ctx: Context, scenario: Scenario, version: str) -> int:
    stale = list(
        RoutingExemplar.objects.filter(scenario=scenario)
        .exclude(embedding_version=version, embedding__isnull=False)
        .only("pk", "text")
    )
    for start in range(0, len(stale), 256):
        chunk = stale[start:start + 256]
        vectors = embeddings_for(ctx, [e.text for e in chunk])
        for exemplar, vector in zip(chunk, vectors, strict=True):
            exemplar.embedding = np.asarray(vector, dtype=np.float32).tobytes()
            exemplar.embedding_version = version
        RoutingExemplar.objects.bulk_update(chunk, ["embedding", "embedding_version"])
    return len(stale)


def _fit(x: np.ndarray, y: list[str], c: float, *, cross_validate: bool):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    cv_top1 = None
    counts = np.unique(y, return_counts=True)[1]
    if cross_validate and counts.min() >= CV_FOLDS:
        folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=0)
        cv_top1 = float(cross_val_score(model, x, y, cv=folds).mean())
    model.fit(x, y)
    return model, cv_top1


def routing_classifier_train(
    *, scenario: Scenario, ctx: Context | None = None, by: str = "system", cross_validate: bool = False,
    c: float = DEFAULT_C,
) -> RoutingClassifier:
    """Embed the exemplars that lack an embedding of the current encoder, fit the classifier and store
    it under the data's fingerprint; an existing row with that fingerprint is returned as is."""
    ctx = ctx or Context(priority=3)
    started = time.perf_counter()
    version = _encoder_version(ctx)
    fingerprint = routing_fingerprint(scenario, version)
    existing = RoutingClassifier.objects.filter(scenario=scenario, fingerprint=fingerprint).first()
    if existing is not None:
        return existing
    _embed_missing(ctx, scenario, version)
    targets = _targets(scenario)
    rows = list(
        RoutingExemplar.objects.filter(scenario=scenario, target_bureau__slug__in=list(targets),
                                       embedding_version=version)
        .order_by("target_bureau__slug", "pk").values_list("embedding", "target_bureau__slug")
    )
    labels = [slug for _, slug in rows]
    if len(set(labels)) < 2:
        raise ValueError(f"{scenario.slug}: routing needs exemplars of at least two enabled target bureaus")
    x = np.stack([np.frombuffer(bytes(blob), dtype=np.float32) for blob, _ in rows])
    model, cv_top1 = _fit(x, labels, c, cross_validate=cross_validate)
    weights = np.concatenate([model.coef_.astype(np.float32).ravel(), model.intercept_.astype(np.float32)])
    try:
        with transaction.atomic():
            row = RoutingClassifier.objects.create(
                scenario=scenario, fingerprint=fingerprint, classes=[str(c) for c in model.classes_],
                weights=weights.tobytes(), dims=x.shape[1], encoder_version=version, exemplars=len(rows),
                regularization=c, cv_top1=cv_top1, trained_by=by,
                train_seconds=round(time.perf_counter() - started, 3),
            )
    except IntegrityError:  # another process trained the same data meanwhile
        return RoutingClassifier.objects.get(scenario=scenario, fingerprint=fingerprint)
    # Older models of the scenario are never used again; keep the last few for the record.
    stale = RoutingClassifier.objects.filter(scenario=scenario).order_by("-trained_at").values_list("pk", flat=True)[5:]
    RoutingClassifier.objects.filter(pk__in=list(stale)).delete()
    logger.info("routing: trained %s on %d exemplars (%d classes) in %.2fs", scenario.slug, len(rows),
                len(model.classes_), row.train_seconds)
    return row


def _router(row: RoutingClassifier, targets: dict[str, Target]) -> Router:
    with _cache_lock:
        cached = _cache.get(row.pk)
    if cached is not None:
        cached.targets = targets
        return cached
    blob = np.frombuffer(bytes(row.weights), dtype=np.float32)
    n = len(row.classes)
    router = Router(
        classifier_id=row.pk, trained_at=row.trained_at.isoformat(), exemplars=row.exemplars,
        cv_top1=row.cv_top1, targets=targets, classes=list(row.classes),
        weights=blob[: n * row.dims].reshape(n, row.dims), intercepts=blob[n * row.dims:],
        scenario_id=row.scenario_id,
    )
    with _cache_lock:
        if len(_cache) > 8:
            _cache.clear()
        _cache[row.pk] = router
    return router


def routing_model(ctx: Context, scenario_slug: str) -> Router | None:
    """The router for the scenario's current data, trained now if none matches (the change was not
    trained yet); None when the scenario has no exemplars. Call after embedding the complaint, so
    the encoder version is known without another call."""
    scenario = Scenario.objects.filter(slug=scenario_slug).first()
    if scenario is None or not RoutingExemplar.objects.filter(scenario=scenario).exists():
        return None
    version = _encoder_version(ctx)
    row = RoutingClassifier.objects.filter(
        scenario=scenario, fingerprint=routing_fingerprint(scenario, version)).first()
    if row is None:
        row = routing_classifier_train(scenario=scenario, ctx=ctx, by="pipeline")
    return _router(row, _targets(scenario))


def routing_params_check(params: dict) -> None:
    """text_routing's params name catalog rows: the scenario whose exemplars train the router, and
    the bureaus ``keywords`` favour. Refused at submit (``ValueError``) when they do not exist."""
    slug = params.get("exemplar_scenario", "")
    if not Scenario.objects.filter(slug=slug, pipeline="text_routing").exists():
        raise ValueError(f"exemplar_scenario {slug!r} is not a text_routing scenario")
    bureaus = set(params.get("keywords", {}))
    known = set(Bureau.objects.filter(slug__in=bureaus).values_list("slug", flat=True))
    if bureaus - known:
        raise ValueError(f"keywords name unknown bureaus {sorted(bureaus - known)}")


pipelines.set_params_check("text_routing", routing_params_check)


# --- training when the data changes -------------------------------------------------------------


@shared_task(name=TRAIN_TASK, ignore_result=True)
def routing_train_task(scenario_slug: str, by: str = "system", cross_validate: bool = False) -> None:
    scenario = Scenario.objects.filter(slug=scenario_slug).first()
    if scenario is not None and scenario.routing_exemplars.exists():
        routing_classifier_train(scenario=scenario, by=by, cross_validate=cross_validate)


def on_routing_data_changed(sender, *, scenario_slug: str, by: str = "system", wait: bool = False, **kwargs) -> None:
    """Train now when the sender waits (``load_catalog``), else queue it for a worker. Either failing
    (Triton or the broker down) leaves the pipeline to train on its next complaint."""
    if wait:
        try:
            routing_train_task(scenario_slug, by, cross_validate=True)
        except Exception as exc:  # noqa: BLE001 - the pipeline trains later; loading must not fail
            logger.warning("routing: training %s now failed (%s); the next complaint trains it", scenario_slug, exc)
        return
    try:
        from celery import current_app

        current_app.send_task(TRAIN_TASK, args=[scenario_slug, by], queue="bulk")
    except Exception as exc:  # noqa: BLE001 - see above
        logger.warning("routing: could not queue training of %s (%s)", scenario_slug, exc)
