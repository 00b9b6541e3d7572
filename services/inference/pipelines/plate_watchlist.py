"""Plate read + list: every plate in the zone is read and checked against a list in the params.

``mode: watchlist`` fires when a read plate is on the list (wanted vehicles); ``mode: allowlist``
fires when one is NOT on it (an unregistered muck truck at a site gate). ``colours`` narrows the
plates considered, e.g. yellow plates for heavy vehicles. Plates compare normalised (no '·',
spaces, width or case), and exactly: a misread character is a miss, never a guessed hit.
"""

from services.inference.pipelines import Context, Item, Outcome, drawing, register
from services.inference.pipelines.geometry import denormalize, point_in_polygon
from services.inference.pipelines.primitives import PlateRead, normalize_plate, read_plates

MAX_LIST = 10_000


def check_plate_list(params: dict) -> None:
    """Refuse list entries that cannot be a plate, so a typo does not silently never match."""
    entries = params.get("plates", [])
    if len(entries) > MAX_LIST:
        raise ValueError(f"at most {MAX_LIST} plates per list, got {len(entries)}")
    bad = [entry for entry in entries if not 5 <= len(normalize_plate(entry)) <= 10]
    if bad:
        raise ValueError(f"not plate numbers (5–10 letters and digits after removing '·' and spaces): {bad[:5]}")


def plates_in_zone(ctx: Context, item: Item, image) -> tuple[list[tuple[PlateRead, bool]], list]:
    """Plates read with at least ``min_score``, each with whether its centre lies in the zone."""
    height, width = image.shape[:2]
    zone = denormalize(item.params["zone"], width, height)
    reads = [p for p in read_plates(ctx, item.content) if p.score >= item.params["min_score"]]
    return [(p, point_in_polygon(p.centre, zone)) for p in reads], zone


def plate_dict(plate: PlateRead) -> dict:
    return {
        "plate": plate.text, "normalized": plate.normalized, "score": round(plate.score, 4),
        "colour": plate.colour, "corners": [round(v, 1) for v in plate.corners],
    }


def draw_plate(image, plate: PlateRead, label: str, color) -> None:
    pts = list(zip(plate.corners[0::2], plate.corners[1::2], strict=True))
    drawing.draw_polygon(image, pts, color)
    drawing.draw_box(image, plate.bounds, label, color)


@register("plate_watchlist", check_params=check_plate_list)
def plate_watchlist(ctx: Context, item: Item) -> Outcome:
    params = item.params
    listed = {normalize_plate(p) for p in params["plates"]}
    allowlist = params["mode"] == "allowlist"
    colours = set(params["colours"])
    image = drawing.decode(item.content)
    reads, zone = plates_in_zone(ctx, item, image)

    plates, hits = [], []
    for plate, inside in reads:
        considered = inside and (not colours or plate.colour in colours)
        on_list = plate.normalized in listed
        hit = considered and (on_list != allowlist)
        plates.append({**plate_dict(plate), "in_zone": inside, "considered": considered, "listed": on_list,
                       "hit": hit})
        if hit:
            hits.append(plate.normalized)

    drawing.draw_polygon(image, zone, drawing.RED if hits else drawing.AMBER)
    for (plate, _), row in zip(reads, plates, strict=True):
        # Plate text is drawn in ASCII only (OpenCV's font has no CJK): the province is in the result.
        color = drawing.RED if row["hit"] else drawing.GREEN if row["considered"] else drawing.AMBER
        draw_plate(image, plate, plate.normalized[1:], color)
    if allowlist:
        summary = f"{len(hits)} plate(s) not on the allowlist: {', '.join(hits)}" if hits else "all plates allowed"
    else:
        summary = f"{len(hits)} plate(s) on the watchlist: {', '.join(hits)}" if hits else "no watchlisted plate"
    return Outcome(
        alert=bool(hits),
        summary=f"{summary} ({len(plates)} read)",
        summary_zh=(f"{len(hits)} 个车牌{'不在白名单' if allowlist else '在布控名单'}：{'、'.join(hits)}" if hits
                    else ("车牌均在白名单" if allowlist else "未发现布控车牌")) + f"（识别 {len(plates)} 个）",
        data={"mode": params["mode"], "plates": plates, "hits": hits, "read": [p["normalized"] for p in plates]},
        annotated_jpeg=drawing.encode_jpeg(image),
    )
