"""12345 complaint routing: which bureau should handle this complaint?

How: the multilingual sentence encoder (Triton ``text_encoder``) embeds the complaint and a
logistic-regression classifier trained on the embeddings of the scenario's labelled exemplars gives
a probability per bureau (services/inference/routing.py trains and loads it, and the rule gets it as
``ctx.router``; exemplars and targets are catalog data a platform admin manages, and dispatchers'
re-routes add exemplars). With hundreds of exemplars this beats comparing with the nearest
exemplars, which reached only about two thirds with a handful per bureau (MODELS.md).

Two kinds of curated knowledge refine it:

- places: bureaus of one domain that differ by area, not topic (the sub-district offices) list the
  communities and landmarks of their area; when a complaint names places of some of them, the
  domain's probability goes to those (an encoder hardly tells 坂田 from 布吉);
- ``keywords`` (params, optional): each matched keyword of a bureau (at most 3 counted) multiplies
  its odds by e^``keyword_weight``.

The rule alerts when the top probability is below ``min_confidence``: a person at the 12345 centre
routes the complaint by hand.
"""

import numpy as np

from services.inference.pipelines import Context, InputRejected, Item, Outcome, register
from services.inference.pipelines.primitives import embed_texts
from services.inference.pipelines.text_entities import item_text, matched_keywords

MAX_KEYWORDS_COUNTED = 3


def matched_places(text: str, places: list[str]) -> list[str]:
    """Places of a bureau's area named in the text; a longer place that contains a shorter one
    counts once (坂田街道 and 坂田)."""
    hits = [p for p in places if p and p in text]
    return [p for p in hits if not any(p != q and p in q for q in hits)]


def refine(
    classes: list[str], probabilities: np.ndarray, text: str, targets: dict, keywords: dict[str, list[str]],
    keyword_weight: float,
) -> tuple[np.ndarray, dict[str, list[str]], dict[str, list[str]]]:
    """Apply keywords and places to the classifier's probabilities (pure, so it is testable without
    Triton). ``targets`` maps bureau slug → object with ``domain`` and ``places``. Returns the new
    probabilities (same order as ``classes``), keyword hits and place hits per bureau."""
    p = np.asarray(probabilities, dtype=np.float64).copy()
    keyword_hits = {b: hits for b, words in keywords.items()
                    if b in classes and (hits := matched_keywords(text, words))}
    if keyword_hits:
        boost = np.array([keyword_weight * min(len(keyword_hits.get(b, [])), MAX_KEYWORDS_COUNTED) for b in classes])
        p = p * np.exp(boost)
        p = p / p.sum()
    place_hits = {b: hits for b in classes if b in targets
                  and (hits := matched_places(text, targets[b].places))}
    for domain in {targets[b].domain for b in place_hits}:
        members = [i for i, b in enumerate(classes) if b in targets and targets[b].domain == domain]
        named = np.array([1.0 if classes[i] in place_hits else 0.0 for i in members])
        mass = p[members].sum()
        # Split the domain's probability among the named bureaus by the classifier's own preference,
        # so that naming places of two offices leaves the choice doubtful.
        prior = p[members] * named
        p[members] = mass * (prior / prior.sum() if prior.sum() > 0 else named / named.sum())
    return p, keyword_hits, place_hits


# The params check (the exemplar scenario and the bureaus keywords name must exist) reads the
# catalog, so services/inference/routing.py sets it with ``set_params_check``.
@register("text_routing")
def text_routing(ctx: Context, item: Item) -> Outcome:
    text = item_text(item)
    params = item.params
    embedding = embed_texts(ctx, [text])[0]
    router = ctx.router(params["exemplar_scenario"])
    if router is None:
        raise InputRejected(
            f"no routing exemplars for {params['exemplar_scenario']!r}; load them with "
            "`python manage.py load_catalog` (or `load_exemplars`)"
        )
    classes = router.classes
    p, keyword_hits, place_hits = refine(
        classes, router.probabilities(embedding), text, router.targets, params.get("keywords", {}),
        params.get("keyword_weight", 1.0),
    )
    order = [int(i) for i in np.argsort(-p)]
    best = classes[order[0]]
    confidence = round(float(p[order[0]]), 4)
    target = router.targets.get(best)
    name_zh = target.name_zh if target else best
    domain = target.domain if target else ""
    alert = confidence < params["min_confidence"]
    summary = f"→ {name_zh} ({best}), confidence {confidence:.2f}"
    summary_zh = f"分派至 {name_zh}，置信度 {confidence:.2f}"
    if alert:
        summary += f" — below {params['min_confidence']:.2f}, route by hand"
        summary_zh += f"（低于 {params['min_confidence']:.2f}，需人工分派）"
    examples, labels, texts = router.examples()
    nearest = None
    if len(labels):
        similarities = examples @ embedding
        i = int(np.argmax(similarities))
        nearest = {"bureau": labels[i], "similarity": round(float(similarities[i]), 4), "text": texts[i][:200]}

    def entry(i: int) -> dict:
        slug = classes[i]
        t = router.targets.get(slug)
        return {"bureau": slug, "bureau_name_zh": t.name_zh if t else slug, "domain": t.domain if t else "",
                "confidence": round(float(p[i]), 4), "keywords": keyword_hits.get(slug, []),
                "places": place_hits.get(slug, [])}

    return Outcome(
        alert=alert,
        summary=summary,
        summary_zh=summary_zh,
        data={
            "bureau": best,
            "bureau_name_zh": name_zh,
            "domain": domain,
            "confidence": confidence,
            "matched_keywords": keyword_hits.get(best, []),
            "matched_places": place_hits.get(best, []),
            "runner_ups": [entry(i) for i in order[1:4]],
            "scores": {classes[i]: round(float(p[i]), 4) for i in order},
            "nearest_exemplar": nearest,
            "exemplars": router.exemplars,
            "classifier": {"id": router.classifier_id, "trained_at": router.trained_at,
                           "exemplars": router.exemplars, "cv_top1": router.cv_top1},
            "needs_manual_routing": alert,
        },
    )
