"""Reading the portal's "try it" form into the same checked input the API builds.

The portal adds two conveniences the API does not need: a CSV file of sensor readings (what a
bureau exports from its devices) and "run with the example input". Everything then goes through
the same ``inputs.check_*`` functions and ``inference_request_submit``, so a portal request is
validated, metered and recorded exactly like an API request.
"""

import csv
import io
import json
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from services.catalog.models import Scenario
from services.core import fields
from services.core.errors import ApplicationError
from services.core.text import decode_text
from services.inference import inputs

# Column names that hold time stamps rather than readings; a CSV export usually starts with one.
_TIME_COLUMNS = {"time", "timestamp", "datetime", "date", "ts", "t", "时间", "日期"}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_csv_series(text: str) -> list[float] | dict[str, list[float]]:
    """A CSV of readings as the API's series: one unnamed column gives a list, named columns a dict.

    Columns named like a time stamp, and columns that are not numbers, are left out; an empty cell
    is refused rather than guessed.
    """
    rows = [row for row in csv.reader(io.StringIO(text.strip())) if any(cell.strip() for cell in row)]
    if not rows:
        raise ApplicationError("The CSV file has no rows.", code="invalid_series")
    header = None
    if any(_number(cell.strip()) is None for cell in rows[0]):
        header = [cell.strip() for cell in rows[0]]
        rows = rows[1:]
    if not rows:
        raise ApplicationError("The CSV file has a header but no readings.", code="invalid_series")
    width = len(rows[0])
    names = header or [f"value{i + 1}" for i in range(width)]
    columns: dict[str, list[float]] = {}
    for index, name in enumerate(names):
        if name.lower() in _TIME_COLUMNS:
            continue
        values = []
        for line, row in enumerate(rows, start=2 if header else 1):
            cell = row[index].strip() if index < len(row) else ""
            value = _number(cell)
            if value is None:
                if header is not None and line == 2:
                    break  # a text column (a station name, say): not a reading
                raise ApplicationError(
                    f"Row {line}, column {name!r}: {cell!r} is not a number.", code="invalid_series"
                )
            values.append(value)
        else:
            columns[name] = values
    if not columns:
        raise ApplicationError("The CSV file has no column of numbers.", code="invalid_series")
    if header is None and len(columns) == 1:
        return next(iter(columns.values()))
    return columns


def parse_series_text(text: str) -> Any:
    """Pasted readings: JSON (a list or an object of channels) or CSV text."""
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ApplicationError(f"The readings are not valid JSON: {exc}", code="invalid_series") from None
    return parse_csv_series(stripped)


def parse_params(text: str | None) -> dict | None:
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApplicationError(f"params is not valid JSON: {exc}", code="invalid_params") from None
    if not isinstance(value, dict):
        raise ApplicationError("params must be a JSON object, like {\"min_count\": 3}.", code="invalid_params")
    return value


def _file_charset(upload, data) -> str | None:
    """Browsers declare no charset for a file, so the form asks for it; a declared one wins."""
    return upload.charset or data.get("file_charset") or None


def read_example(scenario: Scenario, path: Path) -> inputs.CheckedInput:
    """The scenario's shipped example as a checked input of the scenario's kind."""
    content = path.read_bytes()
    kind = scenario.input_kind
    if kind == Scenario.InputKind.IMAGE:
        return inputs.check_image(content, path.name)
    if kind == Scenario.InputKind.AUDIO:
        return inputs.check_audio(content, path.name)
    if kind == Scenario.InputKind.TEXT:
        return inputs.check_text(decode_text(content, where=path.name))
    return inputs.check_series(parse_series_text(decode_text(content, where=path.name)))


def read_input(scenario: Scenario, data, files) -> inputs.CheckedInput:
    """The form's input for the scenario's input kind, checked like the API checks it."""
    kind = scenario.input_kind
    if kind == Scenario.InputKind.IMAGE:
        if "image" not in files:
            raise ApplicationError("Choose an image file.", code="missing_input")
        return inputs.check_image(fields.read_upload(files["image"]).content, files["image"].name or "")
    if kind == Scenario.InputKind.AUDIO:
        if "audio" not in files:
            raise ApplicationError("Choose a WAV file.", code="missing_input")
        return inputs.check_audio(fields.read_upload(files["audio"]).content, files["audio"].name or "")
    if kind == Scenario.InputKind.TEXT:
        if "text_file" in files:
            upload = files["text_file"]
            content = fields.read_upload(upload).content
            return inputs.check_text(decode_text(content, charset=_file_charset(upload, data), where="the text file"))
        return inputs.check_text(data.get("text", ""))
    if "series_file" in files:
        upload = files["series_file"]
        content = fields.read_upload(upload).content
        text = decode_text(content, charset=_file_charset(upload, data), where="the CSV file")
        return inputs.check_series(parse_csv_series(text))
    if data.get("series", "").strip():
        return inputs.check_series(parse_series_text(data["series"]))
    raise ApplicationError("Choose a CSV file or paste the readings.", code="missing_input")


# What a person reads for each error code; the service's own (English) message follows as detail.
ERROR_TITLES = {
    "missing_input": gettext_lazy("Please provide an input."),
    "invalid_image": gettext_lazy("The file is not an image the platform can read."),
    "image_too_large": gettext_lazy("The image is too large."),
    "input_too_large": gettext_lazy("The input is too large."),
    "invalid_text": gettext_lazy("The text is empty or cannot be read."),
    "invalid_characters": gettext_lazy("The input contains characters that cannot be stored."),
    "invalid_series": gettext_lazy("The readings cannot be read."),
    "invalid_encoding": gettext_lazy("The text is not in the expected encoding."),
    "unsupported_charset": gettext_lazy("The text's declared encoding is not supported."),
    "invalid_audio": gettext_lazy("The file is not a PCM WAV recording."),
    "invalid_params": gettext_lazy("The parameters do not fit this scenario."),
    "invalid_source": gettext_lazy("The source is too long or has unprintable characters."),
    "wrong_input_kind": gettext_lazy("This scenario takes a different kind of input."),
    "not_entitled": gettext_lazy("Your bureau is not entitled to this scenario."),
    "scenario_unavailable": gettext_lazy("This scenario is not available."),
    "cannot_submit": gettext_lazy("Your role may not submit requests."),
    "quota_exceeded": gettext_lazy("Your bureau's daily quota for this scenario is used up."),
    "queue_full": gettext_lazy("The platform is busy; please try again in a few seconds."),
}

# Which form field an error belongs to, so the message sits next to it.
ERROR_FIELDS = {
    "missing_input": "input", "invalid_image": "input", "image_too_large": "input", "input_too_large": "input",
    "invalid_text": "input", "invalid_characters": "input", "invalid_encoding": "input",
    "unsupported_charset": "input", "invalid_series": "input", "invalid_audio": "input",
    "wrong_input_kind": "input", "invalid_params": "params",
}


def form_errors(exc: ApplicationError) -> dict:
    title = ERROR_TITLES.get(exc.code, _("The request could not be submitted."))
    errors = {"form": {"title": title, "detail": exc.message, "code": exc.code}}
    field = ERROR_FIELDS.get(exc.code)
    if field:
        errors[field] = exc.message
    return errors
