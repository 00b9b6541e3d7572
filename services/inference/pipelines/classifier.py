"""Image classifier: a bureau-supplied ONNX model scores labels; the alert fires when one of the
scenario's alert labels scores at least ``min_score`` (helmet missing, bin overflowing, ...)."""

import numpy as np

from services.inference.pipelines import Context, Item, Outcome, register


@register("image_classifier")
def image_classifier(ctx: Context, item: Item) -> Outcome:
    params = item.params
    out = ctx.infer(params["model"], {"IMAGE": np.array([[item.content]], dtype=object)}, ["SCORES"])
    scores = out["SCORES"].reshape(-1)
    labels = params["labels"]
    ranked = sorted(zip(labels, (float(s) for s in scores), strict=True), key=lambda p: -p[1])
    wanted, floor = set(params["alert_labels"]), params["min_score"]
    hits = [(label, score) for label, score in ranked if label in wanted and score >= floor]
    top_label, top_score = ranked[0]
    return Outcome(
        alert=bool(hits),
        summary=f"{top_label} ({top_score:.2f})",
        summary_zh=f"判定为 {top_label}（{top_score:.2f}）",
        data={"scores": {label: round(score, 4) for label, score in ranked}, "top": top_label,
              "alert_labels": [label for label, _ in hits]},
    )
