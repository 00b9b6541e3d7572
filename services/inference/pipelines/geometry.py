"""Plane geometry for zone rules. Zones are stored normalised to 0..1 so one zone fits any frame size."""

from collections.abc import Sequence

Point = tuple[float, float]


def denormalize(polygon: Sequence[Sequence[float]], width: int, height: int) -> list[Point]:
    return [(float(x) * width, float(y) * height) for x, y in polygon]


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    """Even-odd ray casting; a point on an edge counts as inside."""
    x, y = point
    inside = False
    count = len(polygon)
    for i in range(count):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % count]
        if _on_segment(x, y, x1, y1, x2, y2):
            return True
        if (y1 > y) != (y2 > y):
            cross_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross_x:
                inside = not inside
    return inside


def _on_segment(x: float, y: float, x1: float, y1: float, x2: float, y2: float, eps: float = 1e-9) -> bool:
    cross = (x - x1) * (y2 - y1) - (y - y1) * (x2 - x1)
    if abs(cross) > eps * max(1.0, abs(x2 - x1) + abs(y2 - y1)):
        return False
    return min(x1, x2) - eps <= x <= max(x1, x2) + eps and min(y1, y2) - eps <= y <= max(y1, y2) + eps


def foot_point(box: Sequence[float]) -> Point:
    """Where an object touches the ground in a camera view: the middle of its box's bottom edge."""
    x1, _, x2, y2 = box[:4]
    return ((x1 + x2) / 2.0, y2)
