"""Count in zone: objects of given classes whose ground point lies in a polygon.

``alert_when: at_least`` (the default) fires when the count reaches ``min_count`` (crowding, fire
lanes, intrusion with ``min_count: 1``); ``alert_when: below`` fires when fewer than ``min_count``
are there (a guard post left unattended).
"""

from services.inference.pipelines import Context, Item, Outcome, drawing, register
from services.inference.pipelines.geometry import denormalize, foot_point, point_in_polygon
from services.inference.pipelines.primitives import Detection, coco_labels, detect_objects


def check_classes(params: dict) -> None:
    unknown = sorted(set(params.get("classes", [])) - set(coco_labels()))
    if unknown:
        raise ValueError(f"unknown object classes {unknown}; use COCO class names such as 'person', 'car'")


def objects_in_zone(ctx: Context, item: Item, image) -> tuple[list[tuple[Detection, bool]], list]:
    """Detections of the wanted classes, each with whether its ground point is in the zone."""
    height, width = image.shape[:2]
    zone = denormalize(item.params["zone"], width, height)
    wanted = set(item.params["classes"])
    objects = [
        (det, point_in_polygon(foot_point(det.box), zone))
        for det in detect_objects(ctx, item.content, min_score=item.params["min_score"])
        if det.label in wanted
    ]
    return objects, zone


@register("count_in_zone", check_params=check_classes)
def count_in_zone(ctx: Context, item: Item) -> Outcome:
    params = item.params
    image = drawing.decode(item.content)
    height, width = image.shape[:2]
    objects, zone = objects_in_zone(ctx, item, image)
    count = sum(1 for _, inside in objects if inside)
    below = params.get("alert_when", "at_least") == "below"
    alert = count < params["min_count"] if below else count >= params["min_count"]

    drawing.draw_polygon(image, zone, drawing.RED if alert else drawing.AMBER)
    for det, inside in objects:
        color = drawing.RED if inside else drawing.GREEN
        drawing.draw_box(image, det.box, f"{det.label} {det.score:.2f}", color)
    by_class: dict[str, int] = {}
    for det, inside in objects:
        if inside:
            by_class[det.label] = by_class.get(det.label, 0) + 1
    return Outcome(
        alert=alert,
        summary=f"{count} in zone (alert {'below' if below else 'at ≥'} {params['min_count']})",
        summary_zh=f"区域内 {count} 个（{'少于' if below else '达到'} {params['min_count']} 个时告警）",
        data={
            "count": count,
            "count_by_class": by_class,
            "min_count": params["min_count"],
            "objects": [{**det.as_dict(), "in_zone": inside} for det, inside in objects],
            "image": {"width": width, "height": height},
        },
        annotated_jpeg=drawing.encode_jpeg(image),
    )
