"""Change over time: the current frame of a source against that source's own frame of at least N
minutes earlier (a dump or stockpile growing, material piling up, an object appearing at a site).

Unlike ``image_change``, which keeps one reference view until reset, the baseline here moves on:
it is the newest earlier frame captured between ``compare_after_s`` and ``compare_after_s +
baseline_window_s`` ago, so slow, steady growth shows while seasons, shadows and accepted changes
fade out of the comparison by themselves. The comparison is the ``image_analytics`` model's change
detection (grey-world and luminance normalisation, phase-correlation alignment, SSIM).

The watched area is ``zone`` (as in the zone families, so a source's named zone can be bound to
it). A frame is "changed" when the changed share of the zone reaches ``min_changed_fraction``. The alert
fires on the first changed frame of a run: while the site keeps changing, later frames report it
without alerting; once a frame of the source compares unchanged (the site has been still for
``compare_after_s``), the next change alerts again. A removal is a change too.
"""

from services.inference.pipelines import Context, Item, Outcome, PastRequest, drawing, follows_one_camera, register
from services.inference.pipelines.image_indices import CHANGE_INDICES, _annotate
from services.inference.pipelines.primitives import ImageIndices, image_indices


def is_new_change(changed: bool, previous: PastRequest | None) -> bool:
    """Alert on the first changed frame of a run: the newest earlier frame (if any) was not changed."""
    return changed and not (previous is not None and previous.result.get("changed"))


def _baseline(ctx: Context, params: dict) -> tuple[PastRequest | None, bytes | None]:
    """The newest frame of this source old enough to compare with, and its image."""
    window = params["compare_after_s"] + params["baseline_window_s"]
    for past in ctx.history(within_s=window, older_than_s=params["compare_after_s"], same_source=True, limit=3):
        content = past.input_content()
        if content is not None:  # a purged frame: try the one before it
            return past, content
    return None, None


NEEDS_SOURCE = "compares frames of one camera over time"


@register("change_over_time", needs_source=follows_one_camera(NEEDS_SOURCE))
def change_over_time(ctx: Context, item: Item) -> Outcome:
    params = item.params
    ctx.require_source(NEEDS_SOURCE)
    image = drawing.decode(item.content)
    window = params["compare_after_s"] + params["baseline_window_s"]
    recent = ctx.history(within_s=window, same_source=True, limit=1)
    previous = recent[0] if recent else None
    baseline, reference = _baseline(ctx, params)
    minutes = params["compare_after_s"] / 60
    size = {"width": image.shape[1], "height": image.shape[0]}
    if baseline is None:
        return Outcome(
            alert=False,
            summary=f"no frame of this source from ≥ {minutes:g} min ago yet: nothing to compare with",
            summary_zh=f"本数据源尚无 {minutes:g} 分钟前的画面，暂无法比较",
            data={"baseline": None, "changed": False, "change_fraction": None, "image": size},
            annotated_jpeg=_annotate(image, {"roi": params["zone"]}, [], alert=False, caption="waiting for a baseline"),
        )

    result: ImageIndices = image_indices(ctx, item.content, want=list(CHANGE_INDICES), reference=reference,
                                         roi=params["zone"])
    fraction = result.values["change_fraction"] or 0.0
    changed = fraction >= params["min_changed_fraction"]
    alert = is_new_change(changed, previous)
    regions = result.evidence_for("change_fraction")
    age_s = (ctx.now - baseline.captured_at).total_seconds()
    if changed and not alert:
        note, note_zh = "still changing, reported earlier", "持续变化，已告警"
    elif changed:
        note, note_zh = "new change", "新变化"
    else:
        note, note_zh = "no change", "无变化"
    threshold = params["min_changed_fraction"]
    return Outcome(
        alert=alert,
        summary=(f"{fraction:.2%} of the zone changed since {age_s / 60:.0f} min ago "
                 f"(alert at ≥ {threshold:.2%}): {note}"),
        summary_zh=(f"与 {age_s / 60:.0f} 分钟前相比区域内 {fraction:.2%} 发生变化"
                    f"（达到 {threshold:.2%} 告警）：{note_zh}"),
        data={
            "baseline": {"request_id": baseline.id, "captured_at": baseline.captured_at.isoformat(),
                         "age_s": round(age_s, 1)},
            "changed": changed,
            "change_fraction": round(fraction, 5),
            "ssim_mean": result.values["ssim_mean"],
            "shift_px": result.values["shift_px"],
            "regions": [e.as_dict() for e in regions],
            "min_changed_fraction": threshold,
            "image": size,
        },
        annotated_jpeg=_annotate(image, {"roi": params["zone"]}, regions, alert=changed,
                                 caption=f"changed {fraction:.2%} in {age_s / 60:.0f} min"),
    )
