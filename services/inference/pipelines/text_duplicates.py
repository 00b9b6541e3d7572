"""Duplicate complaints: is this complaint the same incident as a recent one of the same scenario?

Why embeddings and places together: sentence-embedding cosine alone cannot tell "the same incident
told again" from "the same kind of problem somewhere else" (MODELS.md); the extracted places and
organisations can. So a candidate must be close in meaning AND must not point at another place or
another organisation; where a text names no specific place the similarity bar is higher.
"""

from services.inference.pipelines import Context, Item, Outcome, register
from services.inference.pipelines.text_entities import analyze_text, embeddings_for, item_text, shares_any


def _check(params: dict) -> None:
    if params.get("strict_similarity", 1) < params.get("min_similarity", 0):
        raise ValueError("strict_similarity must not be below min_similarity")


def _candidate_analysis(ctx: Context, past) -> dict:
    """Entities of an earlier complaint: stored in its result by this rule, else extracted now."""
    stored = past.result or {}
    if isinstance(stored.get("entities"), dict) and isinstance(stored.get("places"), list):
        return {"entities": stored["entities"], "places": stored["places"]}
    return analyze_text(ctx, past.data)


@register("text_duplicates", check_params=_check)
def text_duplicates(ctx: Context, item: Item) -> Outcome:
    text = item_text(item)
    params = item.params
    mine = analyze_text(ctx, text)
    history = [
        p for p in ctx.history(within_s=params["within_hours"] * 3600, same_source=False,
                               limit=params["max_candidates"])
        if isinstance(p.data, str) and p.data.strip()
    ]
    vectors = embeddings_for(ctx, [text, *(p.data for p in history)])
    similarities = vectors[1:] @ vectors[0] if history else []

    candidates = []
    for past, similarity in zip(history, similarities, strict=True):
        similarity = float(similarity)
        if similarity < params["min_similarity"]:
            continue
        theirs = _candidate_analysis(ctx, past)
        shared_places = shares_any(mine["places"], theirs["places"])
        orgs_mine, orgs_theirs = mine["entities"]["organization"], theirs["entities"]["organization"]
        shared_orgs = shares_any(orgs_mine, orgs_theirs)
        if mine["places"] and theirs["places"] and not shared_places:
            verdict = "another place"
        elif orgs_mine and orgs_theirs and not shared_orgs:
            verdict = "another organisation"
        elif not shared_places and similarity < params["strict_similarity"]:
            verdict = "no shared place, similarity below the strict bar"
        else:
            verdict = "duplicate"
        candidates.append({
            "request_id": past.id,
            "created_at": past.created_at.isoformat(),
            "similarity": round(similarity, 4),
            "shared_places": shared_places,
            "shared_organizations": shared_orgs,
            "verdict": verdict,
        })
    candidates.sort(key=lambda c: -c["similarity"])
    duplicates = [c for c in candidates if c["verdict"] == "duplicate"]
    best = duplicates[0] if duplicates else None
    summary = (
        f"duplicate of {best['request_id']} (similarity {best['similarity']:.2f}, shared "
        f"{', '.join(best['shared_places'] + best['shared_organizations']) or 'wording only'})"
        if best else f"no duplicate among {len(history)} recent complaint(s)"
    )
    summary_zh = (
        f"与 {best['request_id']} 重复（相似度 {best['similarity']:.2f}，共同地点/单位："
        f"{'、'.join(best['shared_places'] + best['shared_organizations']) or '仅措辞相近'}）"
        if best else f"近期 {len(history)} 件诉求中无重复"
    )
    return Outcome(
        alert=best is not None,
        summary=summary,
        summary_zh=summary_zh,
        data={
            "duplicate_of": best["request_id"] if best else None,
            "similarity": best["similarity"] if best else None,
            "shared_entities": (best["shared_places"] + best["shared_organizations"]) if best else [],
            "candidates": candidates[:10],
            "compared": len(history),
            # Kept so that later complaints compare with this one without tagging it again.
            "entities": mine["entities"],
            "places": mine["places"],
        },
    )
