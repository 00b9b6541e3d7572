"""Published standards and robust statistics for sensor series and audio, in plain numpy.

Why a separate module: the maths is the part a reviewer must be able to check against the standards'
tables, so it carries no Triton, Django or scikit-learn dependency and is unit-tested directly (the
Triton model env runs numpy<2, the project numpy 2: only APIs common to both are used). All public
functions return plain Python values (floats, ints, str, lists, dicts) that serialise to JSON.

References (tables transcribed into the constants below):
- HJ 633-2012 环境空气质量指数（AQI）技术规定（试行）, table 1 (IAQI breakpoints) and table 2
  (AQI levels and categories).
- GB 3838-2002 地表水环境质量标准, table 1 (basic items, classes I–V); single-factor evaluation: the
  worst parameter decides the class (《地表水环境质量评价办法（试行）》, 2011).
- GB 3096-2008 声环境质量标准, table 1 (environmental noise limits per functional zone class; day
  06:00–22:00, night 22:00–06:00) and 5.4 (night-time sudden noise: Lmax at most 15 dB above the limit).
- IEC 61672-1:2013 annex E (A-weighting frequency response).
- GBZ 2.1-2019 工作场所有害因素职业接触限值 第1部分：化学有害因素, table 1 (MAC, PC-TWA, PC-STEL)
  and its TWA formula (Σ C·T / 8 h).
- Iglewicz & Hoaglin (1993), "How to Detect and Handle Outliers": modified z-score 0.6745·(x−median)/MAD,
  outlier when |z| > 3.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# --- HJ 633-2012: air quality index ----------------------------------------------------------------

IAQI_STEPS = (0, 50, 100, 150, 200, 300, 400, 500)

# Table 1 of HJ 633-2012. Concentrations in µg/m³, CO in mg/m³. Keys name pollutant and averaging time.
AQI_BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "so2_24h": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "so2_1h": (0, 150, 500, 650, 800),  # above 800 the 1-h value gives no IAQI: use the 24-h value
    "no2_24h": (0, 40, 80, 180, 280, 565, 750, 940),
    "no2_1h": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "pm10_24h": (0, 50, 150, 250, 350, 420, 500, 600),
    "co_24h": (0, 2, 4, 14, 24, 36, 48, 60),
    "co_1h": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3_1h": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": (0, 100, 160, 215, 265, 800),  # above 800 the 8-h value gives no IAQI: use the 1-h value
    "pm25_24h": (0, 35, 75, 115, 150, 250, 350, 500),
}
POLLUTANT_NAMES_ZH = {"so2": "二氧化硫", "no2": "二氧化氮", "pm10": "PM10", "co": "一氧化碳", "o3": "臭氧",
                      "pm25": "PM2.5"}

# Table 2 of HJ 633-2012: (upper AQI of the level, level, category).
AQI_LEVELS = (
    (50, 1, "优", "excellent"),
    (100, 2, "良", "good"),
    (150, 3, "轻度污染", "lightly polluted"),
    (200, 4, "中度污染", "moderately polluted"),
    (300, 5, "重度污染", "heavily polluted"),
    (math.inf, 6, "严重污染", "severely polluted"),
)


def iaqi(key: str, concentration: float) -> float | None:
    """HJ 633 formula (1): linear interpolation between the two breakpoints around the concentration.

    Returns None where the standard gives no sub-index (SO2 1 h above 800, O3 8 h above 800) and
    500 above the table's last breakpoint (the index tops out there).
    """
    if key not in AQI_BREAKPOINTS:
        raise ValueError(f"unknown pollutant/averaging key {key!r}; use one of {sorted(AQI_BREAKPOINTS)}")
    if not math.isfinite(concentration) or concentration < 0:
        raise ValueError(f"{key}: concentration must be a finite number ≥ 0, got {concentration}")
    bps = AQI_BREAKPOINTS[key]
    if concentration > bps[-1]:
        return None if key in ("so2_1h", "o3_8h") else 500.0
    for i in range(1, len(bps)):
        if concentration <= bps[i]:
            lo, hi = bps[i - 1], bps[i]
            return (IAQI_STEPS[i] - IAQI_STEPS[i - 1]) / (hi - lo) * (concentration - lo) + IAQI_STEPS[i - 1]
    return None  # unreachable: concentration ≤ bps[-1] here


def aqi_level(aqi: int) -> dict:
    for upper, level, zh, en in AQI_LEVELS:
        if aqi <= upper:
            return {"level": level, "category_zh": zh, "category_en": en}
    raise AssertionError("unreachable")


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def aqi(concentrations: dict[str, float]) -> dict:
    """AQI of one time step: the largest IAQI; primary pollutant(s) = those with that IAQI when AQI > 50.

    ``concentrations`` maps table keys (``pm25_24h``, ``o3_1h``, ...) to values. The standard gives
    the formula, not a rounding rule: IAQI is reported rounded half up to an integer (exact value kept).
    Where both ``so2_1h`` (> 800) and ``so2_24h`` are given, the 24-h value stands in, and likewise
    ``o3_1h`` for an ``o3_8h`` above 800, as the notes of table 1 say.
    """
    exact: dict[str, float | None] = {key: iaqi(key, value) for key, value in concentrations.items()}
    by_pollutant: dict[str, float] = {}
    for key, value in exact.items():
        if value is None:
            continue
        pollutant = key.split("_")[0]
        by_pollutant[pollutant] = max(by_pollutant.get(pollutant, 0.0), value)
    if not by_pollutant:
        raise ValueError("no pollutant gave an IAQI (SO2 1 h and O3 8 h above 800 need the other averaging)")
    rounded = {p: _round_half_up(v) for p, v in by_pollutant.items()}
    index = max(rounded.values())
    primary = sorted(p for p, v in rounded.items() if v == index) if index > 50 else []
    return {
        "aqi": index,
        **aqi_level(index),
        "primary_pollutants": primary,
        "primary_pollutants_zh": [POLLUTANT_NAMES_ZH[p] for p in primary],
        "iaqi": rounded,
        "iaqi_exact": {k: (None if v is None else round(v, 3)) for k, v in exact.items()},
        # IAQI > 100 means the concentration exceeds the GB 3095-2012 grade II limit ("超标").
        "exceeding_pollutants": sorted(p for p, v in rounded.items() if v > 100),
    }


# --- GB 3838-2002: surface water class --------------------------------------------------------------

WATER_CLASSES = ("I", "II", "III", "IV", "V")
WORSE_THAN_V = "劣V"

# Table 1 of GB 3838-2002, mg/L unless noted. Each tuple: limits of classes I..V.
# Higher-is-better parameters (dissolved oxygen) are minimums; all others are maximums.
WATER_LIMITS: dict[str, tuple[float, ...]] = {
    "do": (7.5, 6, 5, 3, 2),  # 溶解氧 ≥ (class I: or 90 % saturation)
    "codmn": (2, 4, 6, 10, 15),  # 高锰酸盐指数
    "cod": (15, 15, 20, 30, 40),  # 化学需氧量
    "bod5": (3, 3, 4, 6, 10),  # 五日生化需氧量
    "nh3n": (0.15, 0.5, 1.0, 1.5, 2.0),  # 氨氮
    "tp": (0.02, 0.1, 0.2, 0.3, 0.4),  # 总磷（河流）
    "tp_lake": (0.01, 0.025, 0.05, 0.1, 0.2),  # 总磷（湖、库）
    "tn": (0.2, 0.5, 1.0, 1.5, 2.0),  # 总氮（湖、库）
    "cu": (0.01, 1.0, 1.0, 1.0, 1.0),
    "zn": (0.05, 1.0, 1.0, 2.0, 2.0),
    "f": (1.0, 1.0, 1.0, 1.5, 1.5),  # 氟化物
    "se": (0.01, 0.01, 0.01, 0.02, 0.02),
    "as": (0.05, 0.05, 0.05, 0.1, 0.1),
    "hg": (0.00005, 0.00005, 0.0001, 0.001, 0.001),
    "cd": (0.001, 0.005, 0.005, 0.005, 0.01),
    "cr6": (0.01, 0.05, 0.05, 0.05, 0.1),  # 六价铬
    "pb": (0.01, 0.01, 0.05, 0.05, 0.1),
    "cn": (0.005, 0.05, 0.2, 0.2, 0.2),  # 氰化物
    "volatile_phenol": (0.002, 0.002, 0.005, 0.01, 0.1),
    "petroleum": (0.05, 0.05, 0.05, 0.5, 1.0),  # 石油类
    "las": (0.2, 0.2, 0.2, 0.3, 0.3),  # 阴离子表面活性剂
    "sulfide": (0.05, 0.1, 0.2, 0.5, 1.0),
    "fecal_coliform": (200, 2000, 10000, 20000, 40000),  # 粪大肠菌群, 个/L
}
WATER_MINIMUMS = frozenset({"do"})
WATER_NAMES_ZH = {
    "do": "溶解氧", "codmn": "高锰酸盐指数", "cod": "化学需氧量", "bod5": "五日生化需氧量", "nh3n": "氨氮",
    "tp": "总磷", "tp_lake": "总磷（湖、库）", "tn": "总氮", "cu": "铜", "zn": "锌", "f": "氟化物", "se": "硒",
    "as": "砷", "hg": "汞", "cd": "镉", "cr6": "六价铬", "pb": "铅", "cn": "氰化物", "volatile_phenol": "挥发酚",
    "petroleum": "石油类", "las": "阴离子表面活性剂", "sulfide": "硫化物", "fecal_coliform": "粪大肠菌群",
    "ph": "pH",
}


def class_index(name: str) -> int:
    """'I'..'V' → 1..5, '劣V' → 6."""
    return 6 if name == WORSE_THAN_V else WATER_CLASSES.index(name) + 1


def water_parameter_class(parameter: str, value: float) -> str:
    """The best class whose limit the value meets ('I'..'V'), else '劣V'. pH: 6–9 for every class."""
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{parameter}: value must be a finite number ≥ 0, got {value}")
    if parameter == "ph":
        return "I" if 6 <= value <= 9 else WORSE_THAN_V
    if parameter not in WATER_LIMITS:
        raise ValueError(f"unknown water parameter {parameter!r}; use one of {sorted([*WATER_LIMITS, 'ph'])}")
    limits = WATER_LIMITS[parameter]
    for name, limit in zip(WATER_CLASSES, limits, strict=True):
        if (value >= limit) if parameter in WATER_MINIMUMS else (value <= limit):
            return name
    return WORSE_THAN_V


def water_class(values: dict[str, float], target_class: str = "III") -> dict:
    """Single-factor evaluation: the sample's class is the worst class among its parameters.

    Exceedance multiple against the target class, as in the 2011 evaluation method:
    (C − limit) / limit for maximums; dissolved oxygen is reported as a shortfall, not a multiple.
    """
    if not values:
        raise ValueError("no water parameters given")
    if target_class not in WATER_CLASSES:
        raise ValueError(f"target class must be one of {WATER_CLASSES}")
    per_parameter = {p: water_parameter_class(p, v) for p, v in values.items()}
    worst = max(per_parameter.values(), key=class_index)
    target_i = class_index(target_class)
    exceeding = []
    for p, cls in per_parameter.items():
        if class_index(cls) <= target_i:
            continue
        entry = {"parameter": p, "name_zh": WATER_NAMES_ZH.get(p, p), "value": values[p], "class": cls}
        if p in WATER_LIMITS:
            limit = WATER_LIMITS[p][target_i - 1]
            entry["target_limit"] = limit
            if p not in WATER_MINIMUMS:
                entry["exceed_multiple"] = round((values[p] - limit) / limit, 3)
        exceeding.append(entry)
    return {
        "class": worst,
        "class_index": class_index(worst),
        "limiting_parameters": sorted(p for p, c in per_parameter.items() if c == worst),
        "parameter_classes": per_parameter,
        "target_class": target_class,
        "meets_target": class_index(worst) <= target_i,
        "exceeding": sorted(exceeding, key=lambda e: e["parameter"]),
    }


# --- GB 3096-2008: environmental noise -------------------------------------------------------------

# Table 1 of GB 3096-2008: functional zone class → (day limit, night limit) in dB(A).
NOISE_LIMITS: dict[str, tuple[int, int]] = {
    "0": (50, 40),
    "1": (55, 45),
    "2": (60, 50),
    "3": (65, 55),
    "4a": (70, 55),
    "4b": (70, 60),
}
NIGHT_LMAX_MARGIN_DB = 15.0  # GB 3096-2008 5.4: sudden night noise may exceed the limit by at most 15 dB


def period_of_hour(hour: int) -> str:
    """GB 3096: day is 06:00–22:00, night 22:00–06:00 (local governments may shift these)."""
    return "day" if 6 <= hour < 22 else "night"


def energy_mean_db(levels: Sequence[float] | np.ndarray) -> float:
    """Equivalent continuous level of equally long intervals: 10·lg(mean(10^(L/10)))."""
    arr = np.asarray(levels, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("no levels")
    return float(10.0 * np.log10(np.mean(np.power(10.0, arr / 10.0))))


def level_statistics(levels: Sequence[float] | np.ndarray) -> dict:
    """Leq, Lmax, Lmin and the percentile levels L10/L50/L90 (level exceeded 10/50/90 % of the time)."""
    arr = np.asarray(levels, dtype=np.float64)
    return {
        "leq": round(energy_mean_db(arr), 2),
        "lmax": round(float(arr.max()), 2),
        "lmin": round(float(arr.min()), 2),
        "l10": round(float(np.percentile(arr, 90)), 2),
        "l50": round(float(np.percentile(arr, 50)), 2),
        "l90": round(float(np.percentile(arr, 10)), 2),
        "samples": int(arr.size),
    }


def noise_assessment(stats: dict, zone_class: str, period: str) -> dict:
    """Compare Leq (and at night Lmax) with the GB 3096 limit of the zone class and period."""
    if zone_class not in NOISE_LIMITS:
        raise ValueError(f"zone class must be one of {sorted(NOISE_LIMITS)}")
    if period not in ("day", "night"):
        raise ValueError("period must be 'day' or 'night'")
    limit = NOISE_LIMITS[zone_class][0 if period == "day" else 1]
    exceed = round(stats["leq"] - limit, 2)
    result = {
        "zone_class": zone_class,
        "period": period,
        "limit_db": limit,
        "exceed_db": exceed,
        "leq_exceeds": exceed > 0,
        "lmax_exceeds": False,
    }
    if period == "night":
        result["lmax_limit_db"] = limit + NIGHT_LMAX_MARGIN_DB
        result["lmax_exceeds"] = stats["lmax"] > limit + NIGHT_LMAX_MARGIN_DB
    result["exceeds"] = result["leq_exceeds"] or result["lmax_exceeds"]
    return result


# IEC 61672-1:2013 annex E: pole frequencies of the A-weighting (Hz).
_F1, _F2, _F3, _F4 = 20.598997, 107.65265, 737.86223, 12194.217


def a_weighting_gain(freqs: np.ndarray) -> np.ndarray:
    """Linear amplitude gain of the A-weighting at ``freqs`` (Hz), normalised to 1 at 1 kHz."""
    f2 = np.asarray(freqs, dtype=np.float64) ** 2

    def response(fsq):
        return (_F4**2 * fsq**2) / ((fsq + _F1**2) * np.sqrt((fsq + _F2**2) * (fsq + _F3**2)) * (fsq + _F4**2))

    return response(f2) / response(1000.0**2)


def a_weight(samples: np.ndarray, sample_rate: float) -> np.ndarray:
    """A-weighted copy of a mono signal, filtered in the frequency domain.

    Why not an IIR filter: multiplying the spectrum by the exact annex-E magnitude response gives the
    energy of the A-weighted signal without the bilinear transform's error near Nyquist, and needs no
    scipy. The filter is zero-phase, which changes nothing for energy-based levels (Leq, block levels).
    """
    x = np.asarray(samples, dtype=np.float64)
    spectrum = np.fft.rfft(x)
    spectrum *= a_weighting_gain(np.fft.rfftfreq(x.size, d=1.0 / sample_rate))
    return np.fft.irfft(spectrum, n=x.size)


_FLOOR = 1e-20  # mean square of digital silence: keeps log10 finite (≈ −200 dBFS)


def audio_levels(
    samples: np.ndarray, sample_rate: float, *, calibration_db: float = 0.0, block_s: float = 1.0,
    fast_s: float = 0.125,
) -> dict:
    """A-weighted levels of PCM samples scaled to [-1, 1].

    level = 10·lg(mean(y_A²)) + calibration_db, so ``calibration_db`` is the sound pressure level that
    a signal of RMS 1.0 (full-scale square wave) would have. Calibrate with a 94 dB, 1 kHz calibrator:
    calibration_db = 94 − the uncalibrated reading of the calibrator tone. Without calibration the
    levels are relative (dB re full scale), not sound pressure levels.

    Returns Leq over the whole recording, statistics of the ``block_s`` levels (L10/L50/L90) and the
    largest ``fast_s`` (125 ms) block level as Lmax — an energy-average stand-in for the exponential
    F time weighting of a sound level meter.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    if x.size < 2:
        raise ValueError("audio has fewer than 2 samples")
    if not sample_rate or sample_rate < 1000:
        raise ValueError(f"sample rate {sample_rate} Hz is too low for A-weighted levels")
    squared = a_weight(x, sample_rate) ** 2

    def block_levels(seconds: float) -> np.ndarray:
        size = max(1, round(seconds * sample_rate))
        count = x.size // size
        if count == 0:
            return np.array([10 * np.log10(max(float(squared.mean()), _FLOOR)) + calibration_db])
        means = squared[: count * size].reshape(count, size).mean(axis=1)
        return 10 * np.log10(np.maximum(means, _FLOOR)) + calibration_db

    blocks = block_levels(block_s)
    stats = level_statistics(blocks)
    stats["leq"] = round(float(10 * np.log10(max(float(squared.mean()), _FLOOR)) + calibration_db), 2)
    stats["lmax"] = round(float(block_levels(fast_s).max()), 2)
    stats["duration_s"] = round(x.size / sample_rate, 3)
    stats["block_s"] = block_s
    stats["block_levels"] = [round(float(v), 2) for v in blocks]
    return stats


# --- GBZ 2.1-2019: occupational exposure limits -----------------------------------------------------

# Table 1 of GBZ 2.1-2019 (non-plateau values), mg/m³: MAC (ceiling), PC-TWA (8 h), PC-STEL (15 min).
EXPOSURE_LIMITS: dict[str, dict[str, float]] = {
    "co": {"pc_twa": 20.0, "pc_stel": 30.0},  # 一氧化碳（非高原）
    "h2s": {"mac": 10.0},  # 硫化氢
}
EXPOSURE_NAMES_ZH = {"co": "一氧化碳", "h2s": "硫化氢"}


def _rolling_mean_max(values: np.ndarray, window: int) -> float:
    window = max(1, min(window, values.size))
    sums = np.convolve(values, np.ones(window), mode="valid")
    return float(sums.max() / window)


def occupational_exposure(
    values: np.ndarray, interval_s: float, limits: dict[str, float]
) -> dict:
    """Exposure of one substance sampled every ``interval_s`` seconds (mg/m³) against its limits.

    C_TWA = Σ(C_i·T_i) / 8 h (GBZ 2.1): a record shorter than 8 h counts the unrecorded rest of the
    shift as zero exposure; a longer one is judged by its worst 8 h. C_STEL is the worst 15-min mean
    (the whole record if shorter). MAC is a ceiling for every reading. ``over_limit_indices`` lists
    the readings above the MAC, or — for a substance without one — above the PC-STEL, where the
    15-min mean is at risk.
    """
    c = np.asarray(values, dtype=np.float64).reshape(-1)
    if c.size == 0:
        raise ValueError("no readings")
    if interval_s <= 0:
        raise ValueError("interval_s must be > 0")
    shift = 8 * 3600
    per_shift = round(shift / interval_s)
    if c.size <= per_shift:
        twa = float(c.sum() * interval_s / shift)
    else:
        twa = _rolling_mean_max(c, per_shift)
    stel = _rolling_mean_max(c, round(900 / interval_s))
    result = {
        "max": round(float(c.max()), 4),
        "twa_8h": round(twa, 4),
        "stel_15min": round(stel, 4),
        "duration_s": round(c.size * interval_s, 1),
        "limits": dict(limits),
        "exceeded": [],
    }
    if "mac" in limits and c.max() > limits["mac"]:
        result["exceeded"].append("mac")
    if "pc_twa" in limits and twa > limits["pc_twa"]:
        result["exceeded"].append("pc_twa")
    if "pc_stel" in limits and stel > limits["pc_stel"]:
        result["exceeded"].append("pc_stel")
    result["over_limit_indices"] = [
        int(i) for i in np.flatnonzero(c > min(limits.get("mac", math.inf), limits.get("pc_stel", math.inf)))
    ][:200]
    return result


# --- robust statistics for anomaly rules ------------------------------------------------------------

MAD_SCALE = 0.6745  # Φ⁻¹(0.75): makes MAD consistent with σ for normal data
MEAN_AD_SCALE = 0.7979  # √(2/π): the same for the mean absolute deviation (fallback when MAD is 0)


def rolling_median(values: np.ndarray, window: int, *, exclude_center: bool = False) -> np.ndarray:
    """Centred rolling median with edge values repeated; window forced odd.

    ``exclude_center`` leaves each point out of its own baseline: otherwise one point in every window
    is its own median, a tenth of the residuals are exactly zero, the MAD shrinks and ordinary noise
    reads as outliers.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    window = int(window) | 1
    if window <= 1 or x.size == 0:
        return x.copy()
    half = window // 2
    padded = np.concatenate([np.full(half, x[0]), x, np.full(half, x[-1])])
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    if exclude_center:
        windows = np.delete(windows, half, axis=1)
    return np.median(windows, axis=1)


def robust_scale(values: np.ndarray) -> np.ndarray:
    """(x − median) / (MAD / 0.6745): modified z-scores; falls back to the mean absolute deviation
    when more than half the values are equal (MAD 0), and to zeros for a constant series."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    if mad > 0:
        return MAD_SCALE * (x - med) / mad
    mean_ad = np.mean(np.abs(x - med))
    if mean_ad > 0:
        return MEAN_AD_SCALE * (x - med) / mean_ad
    return np.zeros_like(x)


def robust_z(values: np.ndarray, detrend_window: int = 0) -> np.ndarray:
    """Modified z-scores (Iglewicz & Hoaglin) of the values, or of their residuals from a rolling
    median of the neighbours.

    Detrending first lets the rule find spikes in series with a daily profile (traffic, passenger
    flow) instead of flagging the rush hour.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if detrend_window and detrend_window > 1:
        x = x - rolling_median(x, detrend_window, exclude_center=True)
    return robust_scale(x)


def local_baseline(values: np.ndarray, half_window: int) -> np.ndarray:
    """Each point's value as predicted by a least-squares quadratic through its ``half_window``
    neighbours on either side (the point itself left out).

    Why quadratic: a rolling median flattens a daily peak (rush hour, the morning passenger wave), so
    the top of every peak reads as an outlier; a quadratic follows the curvature. The ends are padded
    by odd reflection (2·x₀ − x_k), which continues a linear trend.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    h = max(2, int(half_window))
    if x.size < 2 * h + 1:
        return rolling_median(x, x.size | 1, exclude_center=True)
    offsets = np.array([k for k in range(-h, h + 1) if k != 0])
    design = np.column_stack([np.ones(offsets.size), offsets, offsets.astype(np.float64) ** 2])
    weights = np.linalg.pinv(design)[0]  # prediction at offset 0 = the fitted intercept
    padded = np.concatenate([2 * x[0] - x[h:0:-1], x, 2 * x[-1] - x[-2 : -h - 2 : -1]])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * h + 1)
    return np.delete(windows, h, axis=1) @ weights


def mad_anomalies(values: np.ndarray, threshold: float = 3.5, window: int = 0) -> dict:
    """Points whose |modified z| exceeds the threshold.

    ``window`` 0: one pass on the raw values, as Iglewicz & Hoaglin describe (3.5 recommended).
    ``window`` > 1: on residuals from `local_baseline` (half of ``window`` neighbours per side),
    iteratively — the most extreme point is taken out and replaced by its baseline before the next
    pass, so one spike does not drag its neighbours' baselines and flag them too. Many points are
    tested at once, so a higher threshold (about 4.5) keeps clean series quiet.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if not window or window <= 1:
        z = robust_scale(x)
        idx = np.flatnonzero(np.abs(z) > threshold)
        return {"indices": [int(i) for i in idx], "scores": [round(float(z[i]), 3) for i in idx]}
    work = x.copy()
    found: dict[int, float] = {}
    for _ in range(max(1, x.size // 4)):
        baseline = local_baseline(work, window // 2)
        z = robust_scale(work - baseline)
        i = int(np.argmax(np.abs(z)))
        if abs(z[i]) <= threshold:
            break
        found[i] = float(z[i])
        work[i] = baseline[i]
    order = sorted(found)
    return {"indices": order, "scores": [round(found[i], 3) for i in order]}


def window_features(values: np.ndarray, window: int) -> np.ndarray:
    """Per-point features of one channel for IsolationForest: the robust z of the point's residual
    from the median of its neighbours, and the local volatility (rolling median of |residual z|).
    Scaled robustly, so one model serves series of any unit, and a spike, a drop or a burst of
    vibration stands apart while a rush-hour peak (followed by the neighbours' median) does not."""
    z = robust_z(values, max(3, window))
    volatility = rolling_median(np.abs(z), max(3, window))
    return np.column_stack([z, volatility])
