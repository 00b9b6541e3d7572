"""Formatting of report cells in the page: the same rounded values the exports hold, made readable."""

from django import template
from django.utils.formats import number_format

from services.reports.tables import BYTES, INT, MS, RATIO, SECONDS

register = template.Library()


@register.filter
def cell(value, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == RATIO:
        return f"{value * 100:.1f}%"
    if kind == INT:
        return number_format(value, force_grouping=True)
    if kind in (MS, SECONDS):
        return number_format(value, decimal_pos=1, force_grouping=True)
    if kind == BYTES:
        return _size(value)
    return str(value)


def _size(n: float) -> str:
    if abs(n) < 1024:
        return f"{n:,.0f} B"
    for unit in ("KB", "MB"):
        n /= 1024
        if abs(n) < 1024:
            return f"{n:,.1f} {unit}"
    return f"{n / 1024:,.1f} GB"


@register.filter
def get_item(mapping, key):
    return mapping.get(key)
