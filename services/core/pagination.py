"""Lists that stay fast however long the history: counts stop at ``CITYAI_LIST_COUNT_CAP``.

A page of 50 rows is an index range scan whatever the table holds; counting every matching row is
not (COUNT(*) over 100,000 requests reads them all). Past the cap a list says "more than N" and
its pages still go on with next links; filters (scenario, status, day) narrow a long history.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response


def capped_count(queryset) -> int:
    """The number of rows, or ``CITYAI_LIST_COUNT_CAP + 1`` when there are more than the cap."""
    cap = settings.CITYAI_LIST_COUNT_CAP
    return queryset.order_by()[: cap + 1].count()


class CappedPaginator(Paginator):
    """Django's paginator for portal lists; ``count_is_lower_bound`` tells the template to say "more than"."""

    @cached_property
    def count(self) -> int:
        return capped_count(self.object_list)

    @property
    def count_is_lower_bound(self) -> bool:
        return self.count > settings.CITYAI_LIST_COUNT_CAP


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """The API's ``?limit=&offset=`` pages; ``count`` is exact up to the cap, and
    ``count_is_lower_bound`` is true when there are more."""

    def get_count(self, queryset) -> int:
        return capped_count(queryset)

    def get_paginated_response(self, data) -> Response:
        response = super().get_paginated_response(data)
        response.data["count_is_lower_bound"] = self.count > settings.CITYAI_LIST_COUNT_CAP
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count_is_lower_bound"] = {
            "type": "boolean",
            "description": "true when there are more rows than count (counting stops past the list cap)",
        }
        return schema
