"""The portal's source, binding and zone forms: they parse what the browser sends (numbers, choices,
JSON typed into a box) and hand it to the API's input serializers and then to the services, so the
portal and the API refuse exactly the same things. A refusal is shown next to the field it is about,
in the reader's language where the portal knows the code.
"""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from services.catalog.models import Scenario
from services.core.api import InputSerializer, read_input
from services.core.errors import ApplicationError, NotFound
from services.sources.models import Binding, Source
from services.sources.serializers import (
    BindingInput,
    BindingUpdateInput,
    SourceInput,
    SourceUpdateInput,
    ZonesInput,
)


class ServiceForm(forms.Form):
    """A form whose cleaned data an input serializer checks and a service carries out."""

    input_class: ClassVar[type[InputSerializer]]

    def submit(self, service: Callable[..., Any], **context) -> Any:
        """``service(**data)`` with the serializer's data (``context`` is the serializer's); None when
        the form, the serializer or the service refused, with the reasons put on the form. A 404 is
        not a form error: it propagates."""
        if not self.is_valid():
            return None
        try:
            return service(**read_input(self.input_class, self.cleaned_data, **context))
        except ValidationError as exc:
            for name, errors in exc.detail.items():
                for error in errors:
                    self.add_error(name if name in self.fields else None, portal_message(error.code, str(error)))
        except NotFound:
            raise
        except ApplicationError as exc:
            self.add_error(self._field_of(exc), portal_message(exc.code, exc.message))
        return None

    def _field_of(self, exc: ApplicationError) -> str | None:
        """The field a service's refusal is about: by its code (``invalid_params`` → params), else none."""
        field = _CODE_FIELDS.get(exc.code) or exc.code.removeprefix("invalid_").removeprefix("missing_")
        return field if field in self.fields else None


class SourceForm(ServiceForm):
    name = forms.CharField(label=_("Name"),
                           help_text=_("As the field teams call it, e.g. “South gate camera 2”"))
    kind = forms.ChoiceField(label=_("Kind"), choices=Source.Kind.choices)
    mode = forms.ChoiceField(label=_("Mode"), choices=Source.Mode.choices,
                             help_text=_("Pulled: the platform fetches frames on a schedule. "
                                         "Pushes: the device sends frames or readings with its device key."))
    url = forms.CharField(label=_("Address of the stream or snapshot"), required=False,
                          help_text=_("http(s):// snapshot (JPEG/PNG) or MJPEG stream, rtsp:// stream, or "
                                      "file:///path/to/video; leave empty for pushing devices"))
    latitude = forms.DecimalField(label=_("Latitude"), required=False, max_digits=9, decimal_places=6,
                                  help_text=_("WGS-84 degrees, e.g. 31.230416"))
    longitude = forms.DecimalField(label=_("Longitude"), required=False, max_digits=9, decimal_places=6,
                                   help_text=_("WGS-84 degrees, e.g. 121.473701"))
    address = forms.CharField(label=_("Street address"), required=False)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True,
                                 help_text=_("A disabled source is not pulled and refuses pushes"))

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.input_class = SourceUpdateInput if editing else SourceInput
        if not editing:
            # A new source starts enabled; the switch appears once it exists.
            del self.fields["enabled"]

    def clean(self):
        data = super().clean()
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise forms.ValidationError(_("Give both latitude and longitude, or neither."))
        return data

    @classmethod
    def initial_for(cls, source: Source) -> dict:
        return {name: getattr(source, name) for name in cls.base_fields}


def scenarios_for(source: Source):
    """Scenarios the source's bureau may run that fit what the source delivers: pulled sources give
    frames; pushing devices also send sensor readings."""
    kinds = [Scenario.InputKind.IMAGE]
    if source.mode == Source.Mode.PUSH:
        kinds.append(Scenario.InputKind.SERIES)
    return (
        Scenario.objects.filter(
            status=Scenario.Status.ACTIVE, input_kind__in=kinds,
            entitlements__bureau=source.bureau, entitlements__enabled=True,
        )
        .select_related("domain")
        .order_by("domain__order", "order")
    )


class BindingForm(ServiceForm):
    scenario = forms.ChoiceField(label=_("Scenario"))
    zone_name = forms.ChoiceField(label=_("Zone"), required=False,
                                  help_text=_("Passed to the scenario as its zone parameter"))
    interval_s = forms.IntegerField(label=_("Every (seconds)"), initial=60,
                                    help_text=_("At least 5 seconds"))
    params = forms.CharField(label=_("Parameters (JSON)"), required=False, widget=forms.Textarea,
                             help_text=_("Leave empty for the scenario's defaults; see the scenario's page"))
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args, source: Source, binding: Binding | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        self.binding = binding
        self.input_class = BindingInput if binding is None else BindingUpdateInput
        scenarios = [(s.slug, s.name) for s in scenarios_for(source)]
        if binding is not None:
            # Editing keeps the scenario: a binding is one scenario on one source.
            del self.fields["scenario"]
        else:
            # A new binding starts running; pausing is an edit.
            del self.fields["enabled"]
            self.fields["scenario"].choices = [("", _("— choose —")), *scenarios]
        self.fields["zone_name"].choices = [("", _("Whole frame"))] + [
            (z.get("name", ""), z.get("name", "")) for z in source.zones or []
        ]

    def clean_params(self) -> dict:
        text = (self.cleaned_data.get("params") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc.msg}) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Parameters are a JSON object, e.g. {\"min_minutes\": 5}."))
        return value

    @staticmethod
    def initial_for(binding: Binding) -> dict:
        return {
            "zone_name": binding.zone_name,
            "interval_s": binding.interval_s,
            "params": json.dumps(binding.params, ensure_ascii=False, default=_json_default) if binding.params else "",
            "enabled": binding.enabled,
        }


class ZonesForm(ServiceForm):
    """The zone editor's hidden field: the whole list of zones as JSON, replaced at once."""

    input_class = ZonesInput
    zones = forms.CharField(required=False, widget=forms.HiddenInput)
    # What was drawn, when it could be read, even if refused: the page shows it again to be fixed.
    drawn: list | None = None

    def clean_zones(self) -> list:
        text = (self.cleaned_data.get("zones") or "").strip() or "[]"
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise forms.ValidationError(_("The zones could not be read; draw them again.")) from None
        if not isinstance(value, list):
            raise forms.ValidationError(_("The zones could not be read; draw them again."))
        self.drawn = value
        return value


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


# Refusals of the services whose field is not in the code's name.
_CODE_FIELDS = {
    "wrong_input_kind": "scenario", "not_entitled": "scenario", "unknown_scenario": "scenario",
    "scenario_unavailable": "scenario", "bindings_not_pullable": "mode", "zone_in_use": "zones",
}


# The serializers and services speak English (their messages are also the API's); the portal leads with the reader's
# language for the refusals a manager is likely to meet, and keeps the service's precise words after it.
_CODE_TEXT = {
    "invalid_url": _("This address cannot be used for the source."),
    "missing_url": _("A pulled source needs the address of its stream or snapshot."),
    "invalid_coordinates": _("Latitude lies between -90 and 90, longitude between -180 and 180."),
    "invalid_zones": _("The zones are not valid."),
    "zone_in_use": _("A scenario on this source uses a zone that would disappear; change or remove it first."),
    "invalid_params": _("The parameters do not fit this scenario."),
    "invalid_zone_name": _("This scenario cannot use that zone."),
    "wrong_input_kind": _("This scenario does not take what this source delivers."),
    "not_entitled": _("Your bureau is not entitled to this scenario."),
    "bindings_not_pullable": _("A pulled source gives images; first remove its scenarios that take other input."),
    "invalid_interval": _("Run it every 5 to 86,400 seconds."),
}


def portal_message(code: str, message: str) -> str:
    """A refusal in the reader's language, with the API's own words for the details."""
    lead = _CODE_TEXT.get(code)
    if lead is None or get_language().startswith("en"):
        return message
    return f"{lead}（{message}）"
