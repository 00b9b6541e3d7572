"""12345 complaint routing: which bureau should handle this complaint?

Why exemplars plus keywords: a multilingual sentence encoder compares the complaint with labelled
complaints of every bureau (`RoutingExemplar` rows; bureaus add their own, which is how routing
learns), but with a handful of exemplars per bureau embeddings alone reached only about two thirds
(MODELS.md). Bureau-curated keywords are precise where they match, so each matched keyword adds a
fixed bonus that outweighs a weak embedding match, while the embedding decides when no keyword does.

Score of a bureau = mean cosine of its ``top_k`` nearest exemplars + ``keyword_weight`` × matched
keywords (at most 3 counted). Confidence = softmax of the scores with temperature ``temperature``.
The rule alerts when confidence is below ``min_confidence``: a person at the 12345 centre routes it.
"""

import numpy as np

from services.inference.pipelines import Context, InputRejected, Item, Outcome, register
from services.inference.pipelines.text_entities import embeddings_for, item_text, matched_keywords

MAX_KEYWORDS_COUNTED = 3


def _exemplars(scenario_slug: str) -> list[tuple[str, str]]:
    """(bureau slug, text) of the scenario's routing exemplars."""
    from services.catalog.models import RoutingExemplar

    return list(
        RoutingExemplar.objects.filter(scenario__slug=scenario_slug)
        .order_by("target_bureau__slug", "created_at")
        .values_list("target_bureau__slug", "text")
    )


def _bureau_names_zh(slugs: list[str]) -> dict[str, str]:
    from services.accounts.models import Bureau

    names = dict(Bureau.objects.filter(slug__in=slugs).values_list("slug", "name_zh"))
    return {slug: names.get(slug, slug) for slug in slugs}


def _check(params: dict) -> None:
    from services.accounts.models import Bureau
    from services.catalog.models import Scenario

    slug = params.get("exemplar_scenario", "")
    if not Scenario.objects.filter(slug=slug, pipeline="text_routing").exists():
        raise ValueError(f"exemplar_scenario {slug!r} is not a text_routing scenario")
    bureaus = set(params.get("keywords", {}))
    known = set(Bureau.objects.filter(slug__in=bureaus).values_list("slug", flat=True))
    if bureaus - known:
        raise ValueError(f"keywords name unknown bureaus {sorted(bureaus - known)}")


def score_bureaus(
    similarities: np.ndarray, labels: list[str], keyword_hits: dict[str, list[str]], params: dict
) -> list[dict]:
    """Per bureau: embedding score (mean of the top-k cosines), keyword bonus, total, confidence;
    best first. Pure, so the weighting can be tested and tuned without Triton."""
    bureaus = sorted(set(labels) | set(keyword_hits))
    top_k = params.get("top_k", 3)
    rows = []
    for bureau in bureaus:
        sims = np.sort(np.array([s for s, b in zip(similarities, labels, strict=True) if b == bureau]))[::-1]
        embedding = float(sims[:top_k].mean()) if sims.size else 0.0
        hits = keyword_hits.get(bureau, [])
        bonus = params.get("keyword_weight", 0.15) * min(len(hits), MAX_KEYWORDS_COUNTED)
        rows.append({"bureau": bureau, "embedding_score": round(embedding, 4), "keywords": hits,
                     "keyword_bonus": round(bonus, 4), "score": embedding + bonus})
    scores = np.array([r["score"] for r in rows])
    weights = np.exp((scores - scores.max()) / params.get("temperature", 0.05))
    for row, confidence in zip(rows, weights / weights.sum(), strict=True):
        row["confidence"] = round(float(confidence), 4)
        row["score"] = round(row["score"], 4)
    return sorted(rows, key=lambda r: -r["score"])


@register("text_routing", check_params=_check)
def text_routing(ctx: Context, item: Item) -> Outcome:
    text = item_text(item)
    params = item.params
    exemplars = _exemplars(params["exemplar_scenario"])
    if not exemplars:
        raise InputRejected(
            f"no routing exemplars for {params['exemplar_scenario']!r}; load them with "
            "`python manage.py load_exemplars`"
        )
    labels = [bureau for bureau, _ in exemplars]
    vectors = embeddings_for(ctx, [text, *(t for _, t in exemplars)])
    similarities = vectors[1:] @ vectors[0]
    keyword_hits = {
        bureau: hits
        for bureau, keywords in params.get("keywords", {}).items()
        if (hits := matched_keywords(text, keywords))
    }
    ranked = score_bureaus(similarities, labels, keyword_hits, params)
    best = ranked[0]
    nearest = int(np.argmax(similarities))
    alert = best["confidence"] < params["min_confidence"]
    names = _bureau_names_zh([r["bureau"] for r in ranked[:4]])
    name_zh = names[best["bureau"]]
    summary = f"→ {name_zh} ({best['bureau']}), confidence {best['confidence']:.2f}"
    if alert:
        summary += f" — below {params['min_confidence']:.2f}, route by hand"
    summary_zh = f"分派至 {name_zh}，置信度 {best['confidence']:.2f}"
    if alert:
        summary_zh += f"（低于 {params['min_confidence']:.2f}，需人工分派）"
    return Outcome(
        alert=alert,
        summary=summary,
        summary_zh=summary_zh,
        data={
            "bureau": best["bureau"],
            "bureau_name_zh": name_zh,
            "confidence": best["confidence"],
            "matched_keywords": best["keywords"],
            "runner_ups": [
                {**{k: r[k] for k in ("bureau", "confidence", "score", "embedding_score", "keywords")},
                 "bureau_name_zh": names[r["bureau"]]}
                for r in ranked[1:4]
            ],
            "scores": {r["bureau"]: r["score"] for r in ranked},
            "nearest_exemplar": {"bureau": labels[nearest], "similarity": round(float(similarities[nearest]), 4),
                                 "text": exemplars[nearest][1][:200]},
            "exemplars": len(exemplars),
            "needs_manual_routing": alert,
        },
    )
