"""Signal analytics on Triton's python backend: published standards and anomaly rules for sensor
series and audio, as one shared, metered model.

Why in Triton and not in the worker: the compute (FFT A-weighting of minutes of audio, fitting an
IsolationForest) is shared and metered like any model's, and bureaus' sensor scenarios scale with
Triton instances. The standards' maths lives in `standards.py` (numpy only, unit-tested directly);
this file is the tensor interface and IsolationForest (scikit-learn).

Every request names an operation (OP) and carries a [rows, channels] FP32 matrix with channel names
and JSON params; the answer is one small JSON document. NaN marks a missing reading.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

# The helpers every model shares live in model_common/ beside this repository (model_repository/README.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "model_common"))
from triton_common import pb_utils, respond_each

sys.path.insert(0, str(Path(__file__).resolve().parent))
import standards

MAX_ESTIMATORS = 500


def _finite_column(values: np.ndarray, index: int) -> np.ndarray:
    column = values[:, index].astype(np.float64)
    return column[np.isfinite(column)]


def _compact(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


# Plain pollutant names → breakpoint keys, per averaging: daily reports use 24-h values and O3's
# 8-h maximum, hourly (real-time) reports 1-h values. PM has only 24-h breakpoints in HJ 633.
_AQI_BY_AVERAGING = {
    "24h": {"pm25": "pm25_24h", "pm10": "pm10_24h", "so2": "so2_24h", "no2": "no2_24h", "co": "co_24h",
            "o3": "o3_8h"},
    "1h": {"pm25": "pm25_24h", "pm10": "pm10_24h", "so2": "so2_1h", "no2": "no2_1h", "co": "co_1h",
           "o3": "o3_1h"},
}
_AQI_KEYS = {_compact(k): k for k in standards.AQI_BREAKPOINTS}


def aqi_key(name: str, averaging: str) -> str:
    compact = _compact(name)
    if compact in _AQI_KEYS:
        return _AQI_KEYS[compact]
    if averaging not in _AQI_BY_AVERAGING:
        raise ValueError("averaging must be '24h' or '1h'")
    key = _AQI_BY_AVERAGING[averaging].get(compact)
    if key is None:
        raise ValueError(
            f"unknown AQI channel {name!r}; use pm25 pm10 so2 no2 co o3 or {sorted(standards.AQI_BREAKPOINTS)}"
        )
    return key


def op_aqi(values: np.ndarray, channels: list[str], params: dict) -> dict:
    """HJ 633 AQI per row (time step). Channels are breakpoint keys (pm25_24h, o3_1h, ...) or plain
    pollutant names read with ``params.averaging`` (24h, the default, or 1h)."""
    averaging = str(params.get("averaging", "24h"))
    keys = [aqi_key(c, averaging) for c in channels]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two channels map to the same breakpoint table: {keys}")
    rows = []
    for r in range(values.shape[0]):
        concentrations = {k: float(values[r, i]) for i, k in enumerate(keys) if math.isfinite(values[r, i])}
        rows.append(standards.aqi(concentrations) if concentrations else None)
    scored = [i for i, row in enumerate(rows) if row is not None]
    if not scored:
        raise ValueError("every row is missing (NaN)")
    worst = max(scored, key=lambda i: rows[i]["aqi"])
    return {"rows": rows, "worst_index": worst, "worst": rows[worst], "latest_index": scored[-1],
            "latest": rows[scored[-1]], "averaging": averaging, "channels": dict(zip(channels, keys, strict=True))}


_WATER_KEYS = {_compact(k): k for k in [*standards.WATER_LIMITS, "ph"]} | {
    "nh3": "nh3n", "ammonia": "nh3n", "ammonianitrogen": "nh3n", "dissolvedoxygen": "do",
    "permanganate": "codmn", "permanganateindex": "codmn", "totalphosphorus": "tp", "totalnitrogen": "tn",
}


def water_key(name: str, lake: bool) -> str:
    key = _WATER_KEYS.get(_compact(name))
    if key is None:
        raise ValueError(f"unknown water parameter {name!r}; use {sorted([*standards.WATER_LIMITS, 'ph'])}")
    return "tp_lake" if lake and key == "tp" else key


def op_water_class(values: np.ndarray, channels: list[str], params: dict) -> dict:
    """GB 3838 class per row (sample); a lake or reservoir uses the lake TP limits."""
    lake = params.get("water_body", "river") == "lake"
    names = [water_key(c, lake) for c in channels]
    target = params.get("target_class", "III")
    rows = []
    for r in range(values.shape[0]):
        sample = {n: float(values[r, i]) for i, n in enumerate(names) if math.isfinite(values[r, i])}
        rows.append(standards.water_class(sample, target) if sample else None)
    scored = [i for i, row in enumerate(rows) if row is not None]
    if not scored:
        raise ValueError("every row is missing (NaN)")
    worst = max(scored, key=lambda i: rows[i]["class_index"])
    return {"rows": rows, "worst_index": worst, "worst": rows[worst], "latest_index": scored[-1],
            "latest": rows[scored[-1]], "water_body": "lake" if lake else "river"}


def _noise_params(params: dict) -> tuple[str, str]:
    return str(params.get("zone_class", "2")), str(params.get("period", "day"))


def op_noise_leq(values: np.ndarray, channels: list[str], params: dict) -> dict:
    """Leq and percentile levels from a series of dB(A) readings taken at equal intervals."""
    levels = _finite_column(values, 0)
    if levels.size == 0:
        raise ValueError("no finite dB(A) readings")
    stats = standards.level_statistics(levels)
    return {"levels": stats, "assessment": standards.noise_assessment(stats, *_noise_params(params))}


def op_noise_audio(values: np.ndarray, channels: list[str], params: dict) -> dict:
    """A-weighted Leq of PCM samples in [-1, 1] (first channel), with a calibration offset."""
    sample_rate = float(params.get("sample_rate", 0))
    calibration_db = float(params.get("calibration_db", 0.0))
    stats = standards.audio_levels(values[:, 0], sample_rate, calibration_db=calibration_db,
                                   block_s=float(params.get("block_s", 1.0)))
    return {"levels": stats, "assessment": standards.noise_assessment(stats, *_noise_params(params)),
            "calibration_db": calibration_db}


def op_exposure(values: np.ndarray, channels: list[str], params: dict) -> dict:
    """GBZ 2.1 MAC / PC-TWA / PC-STEL per substance (mg/m³); params may add or override limits."""
    interval_s = float(params.get("interval_s", 60))
    overrides = params.get("limits") or {}
    substances = {}
    for i, name in enumerate(channels):
        limits = {**standards.EXPOSURE_LIMITS.get(name, {}), **overrides.get(name, {})}
        if not limits:
            raise ValueError(f"no occupational exposure limit known for {name!r}; give one in params.limits")
        column = _finite_column(values, i)
        if column.size == 0:
            raise ValueError(f"{name}: no finite readings")
        substances[name] = standards.occupational_exposure(column, interval_s, limits)
        substances[name]["name_zh"] = standards.EXPOSURE_NAMES_ZH.get(name, name)
    return {"substances": substances, "interval_s": interval_s,
            "exceeded": sorted(n for n, s in substances.items() if s["exceeded"])}


def _anomaly_result(values: np.ndarray, channels: list[str], per_channel: dict, method: str) -> dict:
    indices = sorted({i for result in per_channel.values() for i in result["indices"]})
    return {
        "method": method,
        "indices": indices,
        "values": [{c: float(values[i, k]) for k, c in enumerate(channels)} for i in indices],
        "channels": per_channel,
        "points": int(values.shape[0]),
    }


def op_anomaly_mad(values: np.ndarray, channels: list[str], params: dict) -> dict:
    threshold = float(params.get("threshold", 3.5))
    window = int(params.get("window", 0))
    per_channel = {}
    for k, name in enumerate(channels):
        column = values[:, k].astype(np.float64)
        if not np.all(np.isfinite(column)):
            raise ValueError(f"{name}: anomaly rules need every reading (NaN found)")
        per_channel[name] = standards.mad_anomalies(column, threshold, window)
    return _anomaly_result(values, channels, per_channel, "mad")


def op_anomaly_iforest(values: np.ndarray, channels: list[str], params: dict) -> dict:
    """IsolationForest (Liu, Ting & Zhou 2008) on windowed features of all channels together.

    A point is reported when its isolation score (0.5 ordinary, → 1 isolated) reaches
    ``score_threshold`` and some channel deviates at least ``min_z`` robust units from the median of
    its neighbours: IsolationForest always isolates something, even in clean noise, so the floor keeps
    the tails of ordinary noise out.
    """
    from sklearn.ensemble import IsolationForest

    window = int(params.get("window", 9))
    score_threshold = float(params.get("score_threshold", 0.6))
    min_z = float(params.get("min_z", 4.0))
    n_estimators = min(MAX_ESTIMATORS, int(params.get("n_estimators", 100)))
    if values.shape[0] < 16:
        raise ValueError("IsolationForest needs at least 16 points; use the MAD rule for short series")
    if not np.all(np.isfinite(values)):
        raise ValueError("anomaly rules need every reading (NaN found)")
    features = np.column_stack([standards.window_features(values[:, k], window) for k in range(values.shape[1])])
    model = IsolationForest(n_estimators=n_estimators, random_state=0).fit(features)
    scores = -model.score_samples(features)
    z = features[:, 0::2]  # first feature of every channel: residual robust z
    per_channel = {}
    for k, name in enumerate(channels):
        hits = np.flatnonzero((scores >= score_threshold) & (np.abs(z[:, k]) >= min_z))
        per_channel[name] = {
            "indices": [int(i) for i in hits],
            "scores": [round(float(scores[i]), 4) for i in hits],
            "z": [round(float(z[i, k]), 3) for i in hits],
        }
    result = _anomaly_result(values, channels, per_channel, "iforest")
    result["max_score"] = round(float(scores.max()), 4)
    return result


OPERATIONS = {
    "aqi": op_aqi,
    "water_class": op_water_class,
    "noise_leq": op_noise_leq,
    "noise_audio": op_noise_audio,
    "exposure": op_exposure,
    "anomaly_mad": op_anomaly_mad,
    "anomaly_iforest": op_anomaly_iforest,
}


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def run_operation(op: str, values: np.ndarray, channels: list[str], params: dict) -> dict:
    if op not in OPERATIONS:
        raise ValueError(f"unknown OP {op!r}; use one of {sorted(OPERATIONS)}")
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise ValueError(f"VALUES must be [rows, channels] with at least one of each, got {values.shape}")
    if len(channels) != values.shape[1]:
        raise ValueError(f"CHANNELS has {len(channels)} names for {values.shape[1]} columns")
    if np.isinf(values).any():
        raise ValueError("VALUES contains infinities")
    return OPERATIONS[op](values, channels, params)


class TritonPythonModel:
    def initialize(self, args):
        # Warm scikit-learn's import so the first anomaly request does not pay for it.
        from sklearn.ensemble import IsolationForest  # noqa: F401

    def _one(self, request) -> list:
        op = _text(pb_utils.get_input_tensor_by_name(request, "OP").as_numpy().reshape(-1)[0])
        values = pb_utils.get_input_tensor_by_name(request, "VALUES").as_numpy()
        if values.ndim == 3:
            if values.shape[0] != 1:
                raise ValueError("send one series per request; Triton batches requests")
            values = values[0]
        channels = [_text(c) for c in pb_utils.get_input_tensor_by_name(request, "CHANNELS").as_numpy().reshape(-1)]
        params_tensor = pb_utils.get_input_tensor_by_name(request, "PARAMS_JSON")
        params = {}
        if params_tensor is not None:
            raw = _text(params_tensor.as_numpy().reshape(-1)[0])
            try:
                params = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"PARAMS_JSON is not JSON: {exc}") from None
            if not isinstance(params, dict):
                raise ValueError("PARAMS_JSON must be a JSON object")
        result = run_operation(op, values, channels, params)
        try:
            encoded = json.dumps(result, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (ValueError, TypeError) as exc:  # our result, not the caller's input: a server fault
            raise RuntimeError(f"result is not JSON: {exc}") from exc
        return [pb_utils.Tensor("RESULT_JSON", np.array([[encoded]], dtype=object))]

    def execute(self, requests):
        return respond_each(requests, self._one, "signal_analytics", invalid=(ValueError, TypeError, KeyError))
