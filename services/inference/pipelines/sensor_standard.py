"""Sensor readings judged by published standards, computed by the shared signal_analytics model:
HJ 633 AQI, GB 3838 surface water class, GB 3096 noise Leq, GBZ 2.1 occupational exposure limits.

The scenario fixes the operation (``op``) and its thresholds in params; the input is a series
(one channel) or named channels of equal length, one row per time step or sample.
"""

from typing import Any

import numpy as np
from django.utils import timezone

from services.inference.pipelines import Context, InputRejected, Item, Outcome, register
from services.inference.pipelines.primitives import analyze_signal

WATER_CLASS_INDEX = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "劣V": 6}


def series_matrix(item: Item) -> tuple[np.ndarray, list[str]]:
    """A series as [rows, channels] float32 and its channel names ("value" for a plain list)."""
    data = item.data
    if isinstance(data, list):
        return np.asarray(data, dtype=np.float32).reshape(-1, 1), ["value"]
    if isinstance(data, dict) and data:
        lengths = {len(v) for v in data.values()}
        if len(lengths) != 1:
            raise InputRejected(f"every channel needs the same number of readings, got lengths {sorted(lengths)}")
        names = list(data)
        return np.column_stack([np.asarray(data[n], dtype=np.float32) for n in names]), names
    raise InputRejected("this scenario needs a series: a list of numbers or {channel: [numbers]}")


def noise_period(ctx: Context, params: dict) -> str:
    """GB 3096 period: as given, or from the request's local time (day 06:00–22:00)."""
    period = params.get("period", "auto")
    if period != "auto":
        return period
    when = timezone.localtime(ctx.now) if ctx.now else timezone.localtime()
    return "day" if 6 <= when.hour < 22 else "night"


def _aqi(result: dict, params: dict) -> tuple[bool, str, str, dict]:
    level = params["alert_level"]
    hits = [i for i, row in enumerate(result["rows"]) if row and row["level"] >= level]
    worst = result["worst"]
    primary = "、".join(worst["primary_pollutants_zh"]) or "无"
    summary = f"AQI {worst['aqi']} {worst['category_zh']} (primary: {primary})"
    summary_zh = f"AQI {worst['aqi']}，{worst['category_zh']}，首要污染物：{primary}"
    if hits:
        summary += f"; {len(hits)} time step(s) at level ≥ {level}"
        summary_zh += f"；{len(hits)} 个时段达到 {level} 级及以上"
    return bool(hits), summary, summary_zh, {"alert_rows": hits}


def _water(result: dict, params: dict) -> tuple[bool, str, str, dict]:
    worst = result["worst"]
    alert = WATER_CLASS_INDEX[worst["class"]] > WATER_CLASS_INDEX[params["target_class"]]
    limiting = ", ".join(worst["limiting_parameters"])
    summary = f"class {worst['class']} (limited by {limiting}); target {params['target_class']}"
    summary_zh = f"{worst['class']} 类（限制项目：{limiting}），目标 {params['target_class']} 类"
    return alert, summary, summary_zh, {}


def _noise(result: dict, params: dict) -> tuple[bool, str, str, dict]:
    levels, verdict = result["levels"], result["assessment"]
    summary = (f"Leq {levels['leq']:.1f} dB(A), {verdict['period']} limit {verdict['limit_db']} dB(A) for zone "
               f"class {verdict['zone_class']}")
    period_zh = "昼间" if verdict["period"] == "day" else "夜间"
    summary_zh = (f"等效声级 {levels['leq']:.1f} dB(A)，{verdict['zone_class']} 类声功能区{period_zh}限值 "
                  f"{verdict['limit_db']} dB(A)")
    if verdict["exceeds"]:
        summary += f": exceeds by {verdict['exceed_db']:.1f} dB" if verdict["leq_exceeds"] else ": night Lmax too high"
        summary_zh += f"，超标 {verdict['exceed_db']:.1f} dB" if verdict["leq_exceeds"] else "，夜间最大声级超标"
    return verdict["exceeds"], summary, summary_zh, {}


def _exposure(result: dict, params: dict) -> tuple[bool, str, str, dict]:
    parts, parts_zh = [], []
    for s in result["substances"].values():
        state = "exceeds " + "/".join(s["exceeded"]).upper() if s["exceeded"] else "within limits"
        state_zh = "超过 " + "/".join(s["exceeded"]).upper() if s["exceeded"] else "未超限"
        figures = f"max {s['max']:g}, TWA {s['twa_8h']:g}, STEL {s['stel_15min']:g} mg/m³"
        parts.append(f"{s['name_zh']} {figures} {state}")
        parts_zh.append(f"{s['name_zh']} {figures}，{state_zh}")
    return bool(result["exceeded"]), "; ".join(parts), "；".join(parts_zh), {}


_OPS = {"aqi": _aqi, "water_class": _water, "noise_leq": _noise, "exposure": _exposure}


def _model_params(op: str, ctx: Context, params: dict) -> dict[str, Any]:
    if op == "aqi":
        return {"averaging": params["averaging"]}
    if op == "water_class":
        return {"target_class": params["target_class"], "water_body": params["water_body"]}
    if op == "noise_leq":
        return {"zone_class": params["zone_class"], "period": noise_period(ctx, params)}
    return {"interval_s": params["interval_s"], "limits": params.get("limits", {})}


def _check(params: dict) -> None:
    if params.get("op") not in _OPS:
        raise ValueError(f"op must be one of {sorted(_OPS)}")


@register("sensor_standard", check_params=_check)
def sensor_standard(ctx: Context, item: Item) -> Outcome:
    params = item.params
    op = params["op"]
    values, channels = series_matrix(item)
    if op == "noise_leq" and len(channels) != 1:
        raise InputRejected("noise needs one series of dB(A) readings")
    result = analyze_signal(ctx, op, values, channels, _model_params(op, ctx, params))
    alert, summary, summary_zh, extra = _OPS[op](result, params)
    return Outcome(alert=alert, summary=summary, summary_zh=summary_zh, data={"op": op, **result, **extra})
