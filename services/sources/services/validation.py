"""Checks of the fields of sources and bindings that need no database."""

import math
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from services.core.errors import ApplicationError
from services.inference.inputs import reject_nul
from services.sources import grabbers
from services.sources.models import Source

MIN_INTERVAL_S = 5
MAX_INTERVAL_S = 86_400
MAX_ZONES = 50
MAX_ZONE_POINTS = 100


def text(value: Any, name: str, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApplicationError(f"{name} must be a string.", code=f"invalid_{name}")
    value = value.strip()
    reject_nul(value, name)
    if required and not value:
        raise ApplicationError(f"{name} is required.", code=f"missing_{name}")
    if len(value) > max_length or not value.isprintable():
        raise ApplicationError(f"{name} must be at most {max_length} printable characters.", code=f"invalid_{name}")
    return value


def choice(value: Any, name: str, choices) -> str:
    if value not in choices.values:
        raise ApplicationError(f"{name} must be one of {', '.join(choices.values)}.", code=f"invalid_{name}")
    return value


def coordinate(value: Any, name: str, limit: int) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ApplicationError(f"{name} must be a number.", code="invalid_coordinates")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ApplicationError(f"{name} must be a number.", code="invalid_coordinates") from None
    if not number.is_finite() or not -limit <= number <= limit:
        raise ApplicationError(f"{name} must lie between -{limit} and {limit}.", code="invalid_coordinates")
    return number.quantize(Decimal("0.000001"))


def video_root() -> Path:
    return Path(settings.CITYAI_SOURCES_VIDEO_ROOT).resolve()


def check_url(mode: str, url: Any) -> str:
    url = text(url, "url", max_length=500)
    if mode == Source.Mode.PUSH:
        if url:
            raise ApplicationError("A push source has no URL: its device sends frames with its key.",
                                   code="invalid_url")
        return ""
    if not url:
        raise ApplicationError("A pull source needs a URL (http(s)://, rtsp:// or file:///).", code="missing_url")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in grabbers.PULL_SCHEMES:
        raise ApplicationError("url must start with http://, https://, rtsp://, rtsps:// or file:///.",
                               code="invalid_url")
    if scheme == "file":
        try:
            path = grabbers.file_path(url).resolve()
        except grabbers.SourceUnavailable as exc:
            raise ApplicationError(exc.message, code="invalid_url") from None
        # Recorded videos only from the folder set aside for them: a manager must not make the
        # platform read arbitrary files of the server.
        if not path.is_relative_to(video_root()):
            raise ApplicationError(f"A video file source must lie under {video_root()}.", code="invalid_url")
    elif not parts.hostname:
        raise ApplicationError("url names no host.", code="invalid_url")
    return url


def check_zones(zones: Any) -> list[dict]:
    """Zones: [{"name", "polygon": [[x, y], …]}] with 0..1 coordinates, distinct names."""
    if zones is None:
        return []
    if not isinstance(zones, list) or len(zones) > MAX_ZONES:
        raise ApplicationError(f"zones must be a list of at most {MAX_ZONES} zones.", code="invalid_zones")
    checked, names = [], set()
    for index, zone in enumerate(zones):
        if not isinstance(zone, dict) or set(zone) - {"name", "polygon"}:
            raise ApplicationError(f"zone {index} must be an object with a name and a polygon.", code="invalid_zones")
        name = text(zone.get("name"), "zone name", max_length=100, required=True)
        if name in names:
            raise ApplicationError(f"Two zones are named {name!r}.", code="invalid_zones")
        names.add(name)
        polygon = zone.get("polygon")
        if not isinstance(polygon, list) or not 3 <= len(polygon) <= MAX_ZONE_POINTS:
            raise ApplicationError(f"zone {name!r} needs a polygon of 3 to {MAX_ZONE_POINTS} points.",
                                   code="invalid_zones")
        points = []
        for point in polygon:
            if (not isinstance(point, list | tuple) or len(point) != 2
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
                    or not all(0 <= v <= 1 for v in point)):  # NaN fails the comparison too
                raise ApplicationError(f"zone {name!r}: every point is [x, y] with 0 ≤ x, y ≤ 1 (share of the frame).",
                                       code="invalid_zones")
            points.append([float(point[0]), float(point[1])])
        checked.append({"name": name, "polygon": points})
    return checked


def interval(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value != int(value):
        raise ApplicationError("interval_s must be a whole number of seconds.", code="invalid_interval")
    if not MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        raise ApplicationError(f"interval_s must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S}.",
                               code="invalid_interval")
    return int(value)


def check_enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ApplicationError("enabled must be true or false.", code="invalid_enabled")
    return value
