"""What the sources API and the portal's source forms accept: one input serializer per endpoint.

The checks that need no database live here (text, choices, coordinates, URL schemes and the video
folder, zones, intervals, which push input); the services keep the rules that need rows (params
against the scenario, zones in use by bindings, bindings a pulled source cannot feed). The portal's
forms parse what a browser sends and hand it to the same serializers, so both refuse the same things.

Refusals follow core's one rule (``services.core.api.InputSerializer``): ``missing_<field>`` for an
absent or blank field, ``invalid_<field>`` for any other failure of DRF's own checks, or the code a
check of ours names (``missing_url``, ``invalid_json`` …).
"""

from decimal import Decimal
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty

from services.core import fields
from services.core.api import InputSerializer
from services.sources import grabbers
from services.sources.models import Source

MIN_INTERVAL_S = 5
MAX_INTERVAL_S = 86_400
MAX_ZONES = 50
MAX_ZONE_POINTS = 100


class PlainTextField(fields.StrictCharField):
    """One line of printable text, trimmed: no control characters, so no NUL or lone surrogate (which
    PostgreSQL cannot store) either."""

    default_error_messages = {"not_printable": "Only printable characters on one line, please."}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data).strip()
        if not text.isprintable():
            self.fail("not_printable")
        return text


class CoordinateField(serializers.DecimalField):
    """WGS-84 degrees within ±``limit``, kept to six decimals (about 0.1 m; finer input is rounded)."""

    def __init__(self, limit: int, **kwargs):
        super().__init__(max_digits=None, decimal_places=None, min_value=-limit, max_value=limit,
                         coerce_to_string=False, required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)

    def run_validation(self, data=empty):
        value = super().run_validation(data)  # rounded once in range: a huge number cannot be quantized
        return None if value is None else value.quantize(Decimal("0.000001"))


_POINT_SCHEMA = {"type": "array", "minItems": 2, "maxItems": 2,
                 "items": {"type": "number", "minimum": 0, "maximum": 1}}
_ZONES_SCHEMA = {
    "type": "array", "maxItems": MAX_ZONES,
    "items": {"type": "object", "required": ["name", "polygon"], "additionalProperties": False, "properties": {
        "name": {"type": "string", "maxLength": 100},
        "polygon": {"type": "array", "minItems": 3, "maxItems": MAX_ZONE_POINTS, "items": _POINT_SCHEMA,
                    "description": "[x, y] as shares of the frame's width and height"},
    }},
}


@extend_schema_field(_ZONES_SCHEMA)
class ZonesField(serializers.JSONField):
    """Named polygons on the frame: ``[{"name", "polygon": [[x, y], …]}]``, 0 ≤ x, y ≤ 1, distinct names."""

    _name = PlainTextField(max_length=100)

    def to_internal_value(self, data):
        zones = super().to_internal_value(data)
        if not isinstance(zones, list) or len(zones) > MAX_ZONES:
            raise ValidationError(f"A list of at most {MAX_ZONES} zones, please.", code="invalid_zones")
        return _unique([self._zone(index, zone) for index, zone in enumerate(zones)])

    def _zone(self, index: int, zone) -> dict:
        if not isinstance(zone, dict) or set(zone) - {"name", "polygon"}:
            raise ValidationError(f"zone {index} must be an object with a name and a polygon.", code="invalid_zones")
        try:
            name = self._name.run_validation(zone.get("name"))
        except ValidationError:
            raise ValidationError(f"zone {index} needs a name of at most 100 printable characters.",
                                  code="invalid_zones") from None
        polygon = zone.get("polygon")
        if not isinstance(polygon, list) or not 3 <= len(polygon) <= MAX_ZONE_POINTS:
            raise ValidationError(f"zone {name!r} needs a polygon of 3 to {MAX_ZONE_POINTS} points.",
                                  code="invalid_zones")
        if not all(_is_point(point) for point in polygon):
            raise ValidationError(f"zone {name!r}: every point is [x, y] with 0 ≤ x, y ≤ 1 (share of the frame).",
                                  code="invalid_zones")
        return {"name": name, "polygon": [[float(x), float(y)] for x, y in polygon]}


def _is_point(point) -> bool:
    return (isinstance(point, list | tuple) and len(point) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
            and all(0 <= v <= 1 for v in point))  # NaN fails the comparison too


def _unique(zones: list[dict]) -> list[dict]:
    names = [zone["name"] for zone in zones]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValidationError(f"Two zones are named {twice[0]!r}.", code="invalid_zones")
    return zones


def video_root() -> Path:
    return Path(settings.CITYAI_SOURCES_VIDEO_ROOT).resolve()


def check_url(mode: str, url: str) -> str:
    """The address a source of ``mode`` may have: none for a pushing device; for a pulled camera an
    http(s), rtsp(s) or file URL, a file only under ``CITYAI_SOURCES_VIDEO_ROOT``."""
    if mode == Source.Mode.PUSH:
        if url:
            raise ValidationError("A push source has no URL: its device sends frames with its key.",
                                  code="invalid_url")
        return ""
    if not url:
        raise ValidationError("A pull source needs a URL (http(s)://, rtsp:// or file:///).", code="missing_url")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in grabbers.PULL_SCHEMES:
        raise ValidationError("The URL must start with http://, https://, rtsp://, rtsps:// or file:///.",
                              code="invalid_url")
    if scheme == "file":
        try:
            path = grabbers.file_path(url).resolve()
        except grabbers.SourceUnavailable as exc:
            raise ValidationError(exc.message, code="invalid_url") from None
        # Recorded videos only from the folder set aside for them: a manager must not make the
        # platform read arbitrary files of the server.
        if not path.is_relative_to(video_root()):
            raise ValidationError(f"A video file source must lie under {video_root()}.", code="invalid_url")
    elif not parts.hostname:
        raise ValidationError("The URL names no host.", code="invalid_url")
    return url


class SourceListQuery(InputSerializer):
    """The filters of the source list (GET /sources)."""

    others_allowed: ClassVar[bool] = True

    status = serializers.ChoiceField(Source.Status.choices, required=False)
    kind = serializers.ChoiceField(Source.Kind.choices, required=False)
    mode = serializers.ChoiceField(Source.Mode.choices, required=False)


class SourceInput(InputSerializer):
    """A new source (POST /sources)."""

    error_nouns: ClassVar[dict[str, str]] = {"latitude": "coordinates", "longitude": "coordinates"}

    name = PlainTextField(max_length=200, help_text="As the field teams call it")
    kind = serializers.ChoiceField(Source.Kind.choices, default=Source.Kind.CAMERA)
    mode = serializers.ChoiceField(Source.Mode.choices, default=Source.Mode.PULL,
                                   help_text="pull: the platform fetches frames; push: the device sends them")
    url = PlainTextField(max_length=500, required=False, allow_blank=True,
                         help_text="http(s)://, rtsp(s):// or file:/// (pull sources); none for push sources")
    latitude = CoordinateField(90)
    longitude = CoordinateField(180)
    address = PlainTextField(max_length=300, required=False, allow_blank=True)
    zones = ZonesField(required=False, allow_null=True)

    def validate(self, data: dict) -> dict:
        source = self.context.get("source")  # the source being changed, for a partial update
        if source is None or "mode" in data or "url" in data:
            mode = data.get("mode", source.mode if source else Source.Mode.PULL)
            # A changed mode starts from no address; an unchanged one keeps the source's.
            kept = source.url if source is not None and mode == source.mode else ""
            try:
                data["url"] = check_url(mode, data.get("url", kept))
            except ValidationError as exc:
                raise ValidationError({"url": exc.detail}) from None
        if "zones" in data and data["zones"] is None:
            data["zones"] = []
        return data


class ChangeInput(InputSerializer):
    """Base of a change (PATCH): any of the fields, and what is not sent stays as it is (no defaults)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)

    def get_fields(self):
        declared = super().get_fields()
        for field in declared.values():
            field.default = empty
        return declared


class SourceUpdateInput(ChangeInput, SourceInput):
    """A change to a source (PATCH /sources/{id}): any of its fields."""

    # The serializer's context names the source, whose mode and URL the check of a new one starts from.
    enabled = serializers.BooleanField(required=False, help_text="A disabled source is not pulled and refuses pushes")


class ZonesInput(InputSerializer):
    """All zones of a source at once (PUT /sources/{id}/zones); an empty list removes them."""

    zones = ZonesField()


class BindingInput(InputSerializer):
    """A scenario to run on a source (POST /sources/{id}/bindings)."""

    error_nouns: ClassVar[dict[str, str]] = {"interval_s": "interval"}

    scenario = serializers.SlugField(source="scenario_slug", max_length=100, help_text="scenario slug")
    params = serializers.DictField(required=False, allow_null=True,
                                   help_text="the scenario's parameters; its defaults where absent")
    zone_name = PlainTextField(max_length=100, required=False, allow_blank=True, default="",
                               help_text="one of the source's zones, given to the scenario as params.zone")
    interval_s = serializers.IntegerField(min_value=MIN_INTERVAL_S, max_value=MAX_INTERVAL_S, default=60,
                                          help_text="seconds between runs")


class BindingUpdateInput(ChangeInput, BindingInput):
    """A change to a binding (PATCH /bindings/{id}): any of its fields but the scenario, which stays."""

    scenario = None
    enabled = serializers.BooleanField(required=False, help_text="A paused binding does not run")


class DevicePushInput(InputSerializer):
    """One frame or one reading from a device (POST /devices/push)."""

    image = fields.UploadField(codes={"invalid": "invalid_image"}, help_text="JPEG/PNG/WebP/BMP frame (multipart)")
    series = fields.JSONTextField(help_text="sensor readings: a list of numbers or {channel: [...]}")
    captured_at = fields.AwareDateTimeField(code="invalid_captured_at",
                                            help_text="ISO 8601 with zone; default: now")

    def validate(self, data: dict) -> dict:
        given = [name for name in ("image", "series") if data.get(name) is not None]
        if len(given) != 1:
            raise ValidationError(
                f"Send exactly one input: an 'image' file or 'series' readings (got {', '.join(given) or 'none'}).",
                code="missing_input" if not given else "ambiguous_input",
            )
        return data
