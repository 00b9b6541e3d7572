"""Scenario parameters: defaults from the scenario's JSON schema, then validation against it."""

import threading
from typing import Any

import jsonschema

from services.core.errors import ApplicationError


def _defaults(schema: dict) -> dict[str, Any]:
    return {
        name: prop["default"]
        for name, prop in schema.get("properties", {}).items()
        if isinstance(prop, dict) and "default" in prop
    }


_lock = threading.Lock()
# Compiled validators by schema object: a scenario row (cached by the callers) keeps its schema dict,
# so a busy scenario compiles its schema once per process, not once per request.
_validators: dict[int, tuple[dict, jsonschema.protocols.Validator]] = {}


def _validator(schema: dict) -> jsonschema.protocols.Validator:
    hit = _validators.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    validator = jsonschema.Draft202012Validator(schema)
    with _lock:
        if len(_validators) > 1000:
            _validators.clear()
        _validators[id(schema)] = (schema, validator)
    return validator


def resolve_params(schema: dict, params: Any) -> dict[str, Any]:
    """Return the caller's params over the schema's defaults, or raise a readable 400."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ApplicationError("params must be a JSON object.", code="invalid_params")
    merged = {**_defaults(schema), **params}
    errors = sorted(_validator(schema).iter_errors(merged), key=lambda e: list(e.absolute_path))
    if errors:
        problems = [
            {"path": "/".join(str(p) for p in err.absolute_path) or "(root)", "message": err.message[:300]}
            for err in errors[:10]
        ]
        first = problems[0]
        raise ApplicationError(
            f"params do not fit the scenario's schema: {first['path']}: {first['message']}",
            code="invalid_params",
            details={"problems": problems},
        )
    return merged
