import pytest

from services.catalog.params import resolve_params
from services.core.errors import ApplicationError

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "min_count": {"type": "integer", "minimum": 1, "default": 5},
        "classes": {"type": "array", "items": {"type": "string"}, "default": ["person"]},
    },
}


def test_defaults_fill_missing_params():
    assert resolve_params(SCHEMA, None) == {"min_count": 5, "classes": ["person"]}
    assert resolve_params(SCHEMA, {"min_count": 2}) == {"min_count": 2, "classes": ["person"]}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"min_count": 0}, "min_count"),
        ({"min_count": "3"}, "min_count"),
        ({"colour": "red"}, "colour"),
        ([1, 2], "JSON object"),
    ],
)
def test_violations_name_the_problem(params, needle):
    with pytest.raises(ApplicationError) as info:
        resolve_params(SCHEMA, params)
    assert info.value.code == "invalid_params"
    assert needle in info.value.message
