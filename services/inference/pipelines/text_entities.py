"""Entity extraction from complaint text: places, organisations, people and times from Baidu LAC,
phone and house numbers by pattern, plus curated keywords (urgent triage) and required elements
(a complaint without an address cannot be dispatched).

The helpers here (`extract_entities`, `specific_places`, `shares_any`) are shared with the
duplicate rule, which compares places and organisations.
"""

import hashlib
import re
import threading
from typing import Any

import numpy as np

from services.inference.pipelines import Context, InputRejected, Item, Outcome, register
from services.inference.pipelines.primitives import embed_texts, tag_words

ENTITY_TYPES = ("address", "organization", "person", "time", "phone", "house_number")

# Mobile numbers (11 digits from 13–19) and landlines with an area code, not inside longer digit runs.
PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
# 199号, 3幢2单元501室, 12号楼, 5栋: a number followed by a unit word, possibly chained.
HOUSE_NUMBER = re.compile(r"\d+(?:号楼|号|幢|栋|单元|室|弄)(?:\d+(?:号楼|号|幢|栋|单元|室))*")
# Places that are administrative areas (省/市/县/区/街道/镇/乡) say nothing about which spot is meant;
# 小区/园区/社区/... are specific places despite ending in 区.
_ADMIN_SUFFIX = re.compile(r"(?:省|自治区|市|县|旗|街道|镇|乡)$|(?<![小园社景校厂街营])区$")


def extract_entities(pairs: list[tuple[str, str]], text: str) -> dict[str, list[str]]:
    """Group LAC's tagged words into entity lists; adjacent LOC words form one address
    (杭州市 + 西湖区 + 文三路199号 → 杭州市西湖区文三路199号)."""
    entities: dict[str, list[str]] = {name: [] for name in ENTITY_TYPES}
    kinds = {"LOC": "address", "ORG": "organization", "PER": "person", "TIME": "time"}
    previous = None
    for word, tag in pairs:
        kind = kinds.get(tag)
        if kind is None:
            previous = None
            continue
        if kind == "address" and previous == "address":
            entities["address"][-1] += word
        else:
            entities[kind].append(word)
        previous = kind
    entities["phone"] = PHONE.findall(text)
    entities["house_number"] = HOUSE_NUMBER.findall(text)
    return {k: list(dict.fromkeys(v)) for k, v in entities.items()}


def place_words(pairs: list[tuple[str, str]]) -> list[str]:
    """LAC's LOC words one by one, as the duplicate rule compares them."""
    return [word for word, tag in pairs if tag == "LOC"]


def specific_places(places: list[str], house_numbers: list[str]) -> list[str]:
    """Places that pin down a spot: roads, numbers, communities, landmarks — not 市/区/街道 names."""
    out = [p for p in places if len(p) >= 2 and not _ADMIN_SUFFIX.search(p)]
    return list(dict.fromkeys(out + [h for h in house_numbers if h not in "".join(out)]))


def shares_any(a: list[str], b: list[str]) -> list[str]:
    """Items of ``a`` that match an item of ``b`` (equal, or one contains the other)."""
    shared = []
    for x in a:
        for y in b:
            if x == y or (len(x) >= 2 and len(y) >= 2 and (x in y or y in x)):
                shared.append(x if len(x) >= len(y) else y)
                break
    return list(dict.fromkeys(shared))


def analyze_text(ctx: Context, text: str) -> dict[str, Any]:
    """Entities plus the specific places the duplicate rule needs, from one LAC call."""
    pairs = tag_words(ctx, text)
    entities = extract_entities(pairs, text)
    return {
        "entities": entities,
        "places": specific_places(place_words(pairs), entities["house_number"]),
    }


# Embeddings by SHA-256 of the text, per worker process: routing exemplars and recent complaints are
# embedded once, not on every request. Bounded so a long-running worker does not grow without end.
_EMBEDDING_CACHE: dict[str, np.ndarray] = {}
_EMBEDDING_CACHE_MAX = 20_000
_cache_lock = threading.Lock()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embeddings_for(ctx: Context, texts: list[str]) -> np.ndarray:
    """Embeddings [n, 512] of the texts; only those not seen before in this process reach Triton
    (in batched requests), so only those are metered to this request."""
    keys = [text_sha256(t) for t in texts]
    if not keys:
        return np.zeros((0, 512), dtype=np.float32)
    with _cache_lock:
        found = {k: _EMBEDDING_CACHE[k] for k in keys if k in _EMBEDDING_CACHE}
    missing = [k for k in dict.fromkeys(keys) if k not in found]
    if missing:
        by_key = dict(zip(keys, texts, strict=True))
        fresh = embed_texts(ctx, [by_key[k] for k in missing])
        found.update(zip(missing, fresh, strict=True))
        with _cache_lock:
            if len(_EMBEDDING_CACHE) + len(missing) > _EMBEDDING_CACHE_MAX:
                _EMBEDDING_CACHE.clear()
            _EMBEDDING_CACHE.update(zip(missing, fresh, strict=True))
    return np.stack([found[k] for k in keys])


def matched_keywords(text: str, keywords: list[str]) -> list[str]:
    squashed = re.sub(r"\s+", "", text)
    return [kw for kw in dict.fromkeys(keywords) if kw.strip() and re.sub(r"\s+", "", kw) in squashed]


def item_text(item: Item) -> str:
    if not isinstance(item.data, str) or not item.data.strip():
        raise InputRejected("this scenario needs text input")
    return item.data


def _check(params: dict) -> None:
    unknown = sorted(set(params.get("require", [])) - set(ENTITY_TYPES))
    if unknown:
        raise ValueError(f"unknown entity types {unknown}; use {list(ENTITY_TYPES)}")


@register("text_entities", check_params=_check)
def text_entities(ctx: Context, item: Item) -> Outcome:
    text = item_text(item)
    params = item.params
    analysis = analyze_text(ctx, text)
    entities = analysis["entities"]
    keywords = matched_keywords(text, params.get("keywords", []))
    missing = [kind for kind in params.get("require", []) if not entities.get(kind)]
    keyword_alert = bool(params.get("keywords")) and len(keywords) >= params.get("min_keyword_matches", 1)
    alert = keyword_alert or bool(missing)
    found = ", ".join(f"{kind} {len(v)}" for kind, v in entities.items() if v) or "no entities"
    parts = [found]
    if keywords:
        parts.append(f"keywords: {', '.join(keywords)}")
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    found_zh = "，".join(f"{kind} {len(v)} 个" for kind, v in entities.items() if v) or "未识别到实体"
    parts_zh = [found_zh]
    if keywords:
        parts_zh.append(f"关键词：{'、'.join(keywords)}")
    if missing:
        parts_zh.append(f"缺少：{'、'.join(missing)}")
    return Outcome(
        alert=alert,
        summary="; ".join(parts),
        summary_zh="；".join(parts_zh),
        data={
            "entities": entities,
            "places": analysis["places"],
            "matched_keywords": keywords,
            "missing": missing,
        },
    )
