"""What the list filters of every app share (portal pages and selectors)."""

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone


def filter_given(queryset: QuerySet, **lookups) -> QuerySet:
    """Narrow by the lookups that have a value: an empty filter of a list page ("" or None) means
    "any", while ``False`` and ``0`` are values like any other."""
    given = {name: value for name, value in lookups.items() if value is not None and value != ""}
    return queryset.filter(**given) if given else queryset


def local_day(text: str) -> tuple[datetime, datetime] | None:
    """A local day given as ``2026-11-05`` as [midnight, next midnight); None for anything else."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def today_start() -> datetime:
    """Local midnight of today (the portal's "today" counters)."""
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
