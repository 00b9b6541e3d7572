"""List filters: an empty filter means "any", False is a value; a local day is [midnight, midnight)."""

from datetime import timedelta

from services.core.filters import filter_given, local_day
from services.inference.models import InferenceRequest


def _where(qs) -> str:
    return str(qs.query).split(" WHERE ", 1)[1] if " WHERE " in str(qs.query) else ""


def test_empty_filters_are_left_out_and_false_is_kept():
    base = InferenceRequest.objects.all()
    assert filter_given(base, status="", source=None) is base
    where = _where(filter_given(base, status="failed", alert=False, source=""))
    assert '"status" = failed' in where and '"alert"' in where and '"source"' not in where


def test_a_local_day_and_anything_else():
    start, end = local_day("2026-11-05")
    assert end - start == timedelta(days=1) and start.utcoffset() is not None
    assert local_day("2026-13-01") is None and local_day("today") is None
