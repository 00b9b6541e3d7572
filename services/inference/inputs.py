"""Checking a request's input before anything is stored: kind, size, decodability, content.

Each check raises ``ApplicationError`` with a code that names the problem, so a bad input is a 4xx
and leaves no row behind.
"""

import hashlib
import io
import json
import math
import wave
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from services.core import fields
from services.core.errors import ApplicationError

IMAGE_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp"),
                 "BMP": ("bmp", "image/bmp")}


@dataclass(frozen=True)
class CheckedInput:
    kind: str
    sha256: str
    size: int
    content: bytes | None = None  # image or audio bytes, stored as a file
    data: Any = None  # text or series, stored as JSON
    extension: str = ""
    content_type: str = ""
    name: str = ""
    width: int | None = None
    height: int | None = None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def reject_nul(value: Any, where: str) -> None:
    """PostgreSQL cannot store NUL or unpaired surrogates (valid as JSON escapes, not as text) in
    text or JSON; refuse them up front with a clear reason."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ApplicationError(f"{where} contains a NUL character.", code="invalid_characters")
        if _has_surrogate(value):
            raise ApplicationError(f"{where} contains unpaired surrogate characters.", code="invalid_characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key, where)
            reject_nul(item, where)
    elif isinstance(value, list):
        for item in value:
            reject_nul(item, where)


def check_image(content: bytes, name: str = "") -> CheckedInput:
    if len(content) > settings.CITYAI_MAX_UPLOAD_BYTES:
        raise fields.too_large(len(content))
    if not content:
        raise ApplicationError("The image is empty (0 bytes).", code="invalid_image")
    try:
        with Image.open(io.BytesIO(content)) as img:
            fmt = img.format
            width, height = img.size
            if fmt not in IMAGE_FORMATS:
                raise ApplicationError(
                    f"Image format {fmt} is not accepted; send JPEG, PNG, WebP or BMP.", code="invalid_image"
                )
            # Check the declared size before decoding, so a decompression bomb costs nothing.
            if width * height > settings.CITYAI_MAX_IMAGE_PIXELS:
                raise ApplicationError(
                    f"The image is {width}×{height} pixels; the limit is "
                    f"{settings.CITYAI_MAX_IMAGE_PIXELS} pixels.",
                    code="image_too_large",
                    status=413,
                )
            if fmt == "JPEG":
                # Decoding at an eighth of the size reads every byte of the entropy-coded data (so a
                # damaged or cut-short file still fails) for about half the CPU of a full decode.
                img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            img.load()
    except ApplicationError:
        raise
    except Image.DecompressionBombError:
        # Pillow's own guard fires on opening, before our check, for sizes far past our limit.
        raise ApplicationError(
            f"The image declares more pixels than the limit of {settings.CITYAI_MAX_IMAGE_PIXELS}.",
            code="image_too_large",
            status=413,
        ) from None
    except UnidentifiedImageError:
        raise ApplicationError(
            "The file is not a readable image: its content is not JPEG, PNG, WebP or BMP.", code="invalid_image"
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise ApplicationError(
            "The file is not a readable image: its data is damaged or cut short.", code="invalid_image"
        ) from None
    extension, content_type = IMAGE_FORMATS[fmt]
    return CheckedInput(
        kind="image", sha256=hashlib.sha256(content).hexdigest(), size=len(content), content=content,
        extension=extension, content_type=content_type, name=name[:255], width=width, height=height,
    )


def check_text(text: Any) -> CheckedInput:
    if not isinstance(text, str):
        raise ApplicationError("text must be a string.", code="invalid_text")
    if not text.strip():
        raise ApplicationError("text is empty.", code="invalid_text")
    limit = settings.CITYAI_MAX_TEXT_CHARS
    if len(text) > limit:
        raise ApplicationError(
            f"text has {len(text)} characters; the limit is {limit}.", code="input_too_large", status=413
        )
    reject_nul(text, "text")
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApplicationError("text contains unpaired surrogate characters.", code="invalid_characters") from None
    return CheckedInput(kind="text", sha256=hashlib.sha256(encoded).hexdigest(), size=len(encoded), data=text)


def _check_numbers(values: Any, label: str) -> list[float]:
    if not isinstance(values, list) or not values:
        raise ApplicationError(f"{label} must be a non-empty list of numbers.", code="invalid_series")
    out = []
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ApplicationError(
                f"{label}[{index}] is {value!r}; every value must be a finite number.", code="invalid_series"
            )
        out.append(float(value))
    return out


def check_series(series: Any) -> CheckedInput:
    """A series is a list of numbers, or named channels: ``{"pm25": [...], "no2": [...]}``."""
    if isinstance(series, dict):
        if not series or len(series) > 64:
            raise ApplicationError("series must have between 1 and 64 channels.", code="invalid_series")
        data = {}
        for name, values in series.items():
            if not isinstance(name, str) or not name or len(name) > 64:
                raise ApplicationError("series channel names must be short strings.", code="invalid_series")
            reject_nul(name, "series channel name")
            data[name] = _check_numbers(values, f"series[{name!r}]")
        points = sum(len(v) for v in data.values())
    else:
        data = _check_numbers(series, "series")
        points = len(data)
    if points > settings.CITYAI_MAX_SERIES_POINTS:
        raise ApplicationError(
            f"series has {points} points; the limit is {settings.CITYAI_MAX_SERIES_POINTS}.",
            code="input_too_large",
            status=413,
        )
    encoded = json.dumps(data, sort_keys=True).encode()
    return CheckedInput(kind="series", sha256=hashlib.sha256(encoded).hexdigest(), size=len(encoded), data=data)


def check_audio(content: bytes, name: str = "") -> CheckedInput:
    if len(content) > settings.CITYAI_MAX_UPLOAD_BYTES:
        raise fields.too_large(len(content))
    try:
        with wave.open(io.BytesIO(content)) as wav:
            if wav.getsampwidth() not in (1, 2, 4) or wav.getnframes() == 0:
                raise ApplicationError("The WAV file has no PCM samples.", code="invalid_audio")
    except ApplicationError:
        raise
    except (wave.Error, EOFError, OSError) as exc:
        raise ApplicationError(f"The file is not a readable PCM WAV file: {exc}", code="invalid_audio") from None
    return CheckedInput(
        kind="audio", sha256=hashlib.sha256(content).hexdigest(), size=len(content), content=content,
        extension="wav", content_type="audio/wav", name=name[:255],
    )


def check_captured_at(captured_at: datetime | None, *, max_age_s: int | None = None) -> datetime | None:
    """The one check of when a frame or reading was taken, for requests and device pushes alike (the
    API reads the time with ``core.fields.AwareDateTimeField``): it carries its zone and does not lie
    ahead of our clock beyond device drift (``CITYAI_CAPTURE_CLOCK_SKEW_SECONDS``); a caller that takes
    only recent captures (a device's push) gives ``max_age_s``."""
    if captured_at is None:
        return None
    if timezone.is_naive(captured_at):
        raise ApplicationError("captured_at needs a time zone (e.g. 2026-11-28T10:00:00+08:00).",
                               code="invalid_captured_at")
    now = timezone.now()
    if captured_at > now + timedelta(seconds=settings.CITYAI_CAPTURE_CLOCK_SKEW_SECONDS):
        raise ApplicationError("captured_at lies in the future.", code="invalid_captured_at")
    if max_age_s is not None and captured_at < now - timedelta(seconds=max_age_s):
        raise ApplicationError(f"captured_at is older than {max_age_s} s; send old recordings as ordinary requests.",
                               code="invalid_captured_at")
    return captured_at
