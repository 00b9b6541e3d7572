"""Anomalies in a sensor series (traffic flow, passenger flow, vibration, gas concentration): the
points that break from their neighbours, found by the shared signal_analytics model.

Methods: ``iforest`` — IsolationForest (scikit-learn; Liu, Ting & Zhou 2008) on windowed features of
all channels, with a floor on the robust deviation; ``mad`` — the modified z-score of Iglewicz &
Hoaglin (|z| > 3.5), on residuals from the neighbours' rolling median when ``window`` > 1;
``auto`` — IsolationForest from ``auto_min_points`` points up, MAD for shorter series, where a
forest has too little to learn from.
"""

from services.inference.pipelines import Context, Item, Outcome, register
from services.inference.pipelines.primitives import analyze_signal
from services.inference.pipelines.sensor_standard import series_matrix


def _check(params: dict) -> None:
    if params.get("method") not in ("auto", "iforest", "mad"):
        raise ValueError("method must be auto, iforest or mad")


@register("series_anomaly", check_params=_check)
def series_anomaly(ctx: Context, item: Item) -> Outcome:
    params = item.params
    values, channels = series_matrix(item)
    method = params["method"]
    if method == "auto":
        method = "iforest" if values.shape[0] >= params["auto_min_points"] else "mad"
    if method == "iforest":
        model_params = {"window": params["window"], "score_threshold": params["score_threshold"],
                        "min_z": params["min_z"]}
    else:
        model_params = {"window": params["window"], "threshold": params["threshold"]}
    result = analyze_signal(ctx, f"anomaly_{method}", values, channels, model_params)
    count = len(result["indices"])
    alert = count >= params["min_anomalies"]
    shown = ", ".join(str(i) for i in result["indices"][:10]) + (" ..." if count > 10 else "")
    summary = (f"{count} anomalous point(s) at {shown} ({method})" if count
               else f"no anomaly in {values.shape[0]} points ({method})")
    summary_zh = (f"发现 {count} 个异常点：{shown}（{method}）" if count
                  else f"{values.shape[0]} 个数据点未见异常（{method}）")
    return Outcome(alert=alert, summary=summary, summary_zh=summary_zh, data={**result, "anomaly_count": count})
