"""Plate dwell: the same plate stays in a zone across frames of one source for at least N minutes
(illegal parking identified by plate, so two cars swapping one spot never add up).

Each frame's result carries the plates in the zone with the time each was first seen; a plate seen
now continues the newest earlier sighting of the same normalised plate no more than ``max_gap_s``
ago (so one missed read between snapshots does not restart the clock). Each stay fires once, on the
first frame where its dwell reaches ``min_dwell_s``; later frames of the same stay report it
without alerting again.
"""

from datetime import datetime

from services.inference.pipelines import Context, Item, Outcome, PastRequest, drawing, follows_one_camera, register
from services.inference.pipelines.plate_watchlist import draw_plate, plate_dict, plates_in_zone

HISTORY_LIMIT = 200


def previous_stays(history: list[PastRequest]) -> dict[str, dict]:
    """Newest earlier record of each plate: {normalised plate: {"since", "alerted"}}.

    ``history`` is newest first, as ``ctx.history`` returns it.
    """
    stays: dict[str, dict] = {}
    for past in history:
        for stay in past.result.get("stays", []):
            stays.setdefault(stay["normalized"], stay)
    return stays


def continue_stays(previous: dict[str, dict], current: list[str], *, now: datetime, min_dwell_s: float) -> list[dict]:
    """Plates seen now -> their stays: {"normalized", "since", "dwell_s", "alerted", "fires"}."""
    stays = []
    for plate in dict.fromkeys(current):  # one stay per plate, first read wins
        before = previous.get(plate)
        since = datetime.fromisoformat(before["since"]) if before else now
        was_alerted = bool(before and before["alerted"])
        dwell = (now - since).total_seconds()
        reached = dwell >= min_dwell_s
        stays.append({"normalized": plate, "since": since.isoformat(), "dwell_s": round(dwell, 1),
                      "alerted": was_alerted or reached, "fires": reached and not was_alerted})
    return stays


@register("plate_dwell", needs_source=follows_one_camera())
def plate_dwell(ctx: Context, item: Item) -> Outcome:
    params = item.params
    ctx.require_source()
    image = drawing.decode(item.content)
    reads, zone = plates_in_zone(ctx, item, image)
    inside = [plate for plate, is_in in reads if is_in]
    history = ctx.history(within_s=params["max_gap_s"], same_source=True, limit=HISTORY_LIMIT)
    stays = continue_stays(previous_stays(history), [p.normalized for p in inside], now=ctx.now,
                           min_dwell_s=params["min_dwell_s"])
    firing = [s["normalized"] for s in stays if s["fires"]]
    longest = max((s["dwell_s"] for s in stays), default=0.0)

    drawing.draw_polygon(image, zone, drawing.RED if firing else drawing.AMBER)
    by_plate = {s["normalized"]: s for s in stays}
    for plate in inside:
        stay = by_plate[plate.normalized]
        color = drawing.RED if stay["alerted"] else drawing.GREEN
        draw_plate(image, plate, f"{plate.normalized[1:]} {stay['dwell_s'] / 60:.0f} min", color)
    summary = (f"parked ≥ {params['min_dwell_s'] / 60:g} min: {', '.join(firing)}" if firing
               else f"longest stay {longest / 60:.1f} min (alert at ≥ {params['min_dwell_s'] / 60:g} min)")
    summary_zh = (f"停放超过 {params['min_dwell_s'] / 60:g} 分钟：{'、'.join(firing)}" if firing
                  else f"最长停放 {longest / 60:.1f} 分钟（达到 {params['min_dwell_s'] / 60:g} 分钟告警）")
    return Outcome(
        alert=bool(firing),
        summary=summary,
        summary_zh=summary_zh,
        data={
            "stays": stays,
            "firing": firing,
            "longest_dwell_s": longest,
            "plates": [{**plate_dict(p), "in_zone": is_in} for p, is_in in reads],
        },
        annotated_jpeg=drawing.encode_jpeg(image),
    )
