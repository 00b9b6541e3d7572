from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def localized_summary(result) -> str:
    """A result's summary in the portal's language: ``summary_zh`` for Chinese when the rule wrote one."""
    if not isinstance(result, dict):
        return ""
    if (get_language() or "").lower().startswith("zh") and result.get("summary_zh"):
        return result["summary_zh"]
    return result.get("summary", "")
