"""Count in zone: objects of given classes whose ground point lies in a polygon (crowding, fire lanes)."""

from services.inference.pipelines import Context, Item, Outcome, drawing, register
from services.inference.pipelines.geometry import denormalize, foot_point, point_in_polygon
from services.inference.pipelines.primitives import coco_labels, detect_objects


def _check(params: dict) -> None:
    unknown = sorted(set(params.get("classes", [])) - set(coco_labels()))
    if unknown:
        raise ValueError(f"unknown object classes {unknown}; use COCO class names such as 'person', 'car'")


@register("count_in_zone", check_params=_check)
def count_in_zone(ctx: Context, item: Item) -> Outcome:
    params = item.params
    image = drawing.decode(item.content)
    height, width = image.shape[:2]
    zone = denormalize(params["zone"], width, height)
    wanted = set(params["classes"])
    objects = []
    for det in detect_objects(ctx, item.content, min_score=params["min_score"]):
        if det.label not in wanted:
            continue
        objects.append((det, point_in_polygon(foot_point(det.box), zone)))
    count = sum(1 for _, inside in objects if inside)
    alert = count >= params["min_count"]

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
        summary=f"{count} in zone (alert at ≥ {params['min_count']})",
        data={
            "count": count,
            "count_by_class": by_class,
            "min_count": params["min_count"],
            "objects": [{**det.as_dict(), "in_zone": inside} for det, inside in objects],
            "image": {"width": width, "height": height},
        },
        annotated_jpeg=drawing.encode_jpeg(image),
    )
