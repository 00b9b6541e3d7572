"""Reading the portal's source and binding forms into the arguments of the sources services.

The forms only parse what the browser sends (numbers, choices, JSON); every rule about what a source
or binding may be (URL schemes, coordinate ranges, zones, params against the scenario's schema,
entitlements) lives in the services, whose ``ApplicationError`` messages the views attach to the
form, so the portal and the API refuse exactly the same things.
"""

import json
from decimal import Decimal

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from services.catalog.models import Scenario
from services.sources.models import Binding, Source

# Which field an ApplicationError belongs to, when its details or code say so.
_SOURCE_FIELDS = ("name", "kind", "mode", "url", "latitude", "longitude", "address", "enabled")
_BINDING_FIELDS = ("scenario", "params", "zone_name", "interval_s", "enabled")


class SourceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200,
                           help_text=_("As the field teams call it, e.g. “South gate camera 2”"))
    kind = forms.ChoiceField(label=_("Kind"), choices=Source.Kind.choices)
    mode = forms.ChoiceField(label=_("Mode"), choices=Source.Mode.choices,
                             help_text=_("Pulled: the platform fetches frames on a schedule. "
                                         "Pushes: the device sends frames or readings with its device key."))
    url = forms.CharField(label=_("Address of the stream or snapshot"), max_length=500, required=False,
                          help_text=_("http(s):// snapshot (JPEG/PNG) or MJPEG stream, rtsp:// stream, or "
                                      "file:///path/to/video; leave empty for pushing devices"))
    latitude = forms.DecimalField(label=_("Latitude"), required=False, max_digits=9, decimal_places=6,
                                  help_text=_("WGS-84 degrees, e.g. 31.230416"))
    longitude = forms.DecimalField(label=_("Longitude"), required=False, max_digits=9, decimal_places=6,
                                   help_text=_("WGS-84 degrees, e.g. 121.473701"))
    address = forms.CharField(label=_("Street address"), max_length=300, required=False)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True,
                                 help_text=_("A disabled source is not pulled and refuses pushes"))

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            # A new source starts enabled; the switch appears once it exists.
            del self.fields["enabled"]

    def clean(self):
        data = super().clean()
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise forms.ValidationError(_("Give both latitude and longitude, or neither."))
        return data

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)

    @staticmethod
    def initial_for(source: Source) -> dict:
        return {field: getattr(source, field) for field in _SOURCE_FIELDS}

    def add_service_error(self, exc) -> None:
        _attach(self, exc, _SOURCE_FIELDS)


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


class BindingForm(forms.Form):
    scenario = forms.ChoiceField(label=_("Scenario"))
    zone_name = forms.ChoiceField(label=_("Zone"), required=False,
                                  help_text=_("Passed to the scenario as its zone parameter"))
    interval_s = forms.IntegerField(label=_("Every (seconds)"), min_value=5, initial=60,
                                    help_text=_("At least 5 seconds"))
    params = forms.CharField(label=_("Parameters (JSON)"), required=False, widget=forms.Textarea,
                             help_text=_("Leave empty for the scenario's defaults; see the scenario's page"))
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args, source: Source, binding: Binding | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        self.binding = binding
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

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("scenario", None)
        return data

    @staticmethod
    def initial_for(binding: Binding) -> dict:
        return {
            "zone_name": binding.zone_name,
            "interval_s": binding.interval_s,
            "params": json.dumps(binding.params, ensure_ascii=False, default=_json_default) if binding.params else "",
            "enabled": binding.enabled,
        }

    def add_service_error(self, exc) -> None:
        _attach(self, exc, _BINDING_FIELDS)


class ZonesForm(forms.Form):
    """The zone editor's hidden field: the whole list of zones as JSON, replaced at once."""

    zones = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_zones(self) -> list:
        text = (self.cleaned_data.get("zones") or "").strip() or "[]"
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise forms.ValidationError(_("The zones could not be read; draw them again.")) from None
        if not isinstance(value, list):
            raise forms.ValidationError(_("The zones could not be read; draw them again."))
        return value


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


# Error codes of the services whose field is not in the code's name.
_CODE_FIELDS = {
    "invalid_interval": "interval_s", "invalid_zone_name": "zone_name", "wrong_input_kind": "scenario",
    "missing_scenario": "scenario", "not_entitled": "scenario", "unknown_scenario": "scenario",
    "scenario_unavailable": "scenario", "bindings_not_pullable": "mode",
}


# The services speak English (their messages are also the API's); the portal leads with the reader's
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


def service_message(exc) -> str:
    """A service's refusal in the reader's language, with the service's own words for the details."""
    lead = _CODE_TEXT.get(getattr(exc, "code", ""))
    if lead is None or get_language().startswith("en"):
        return exc.message
    return f"{lead}（{exc.message}）"


def _attach(form: forms.Form, exc, fields: tuple[str, ...]) -> None:
    """Put a service's refusal next to the field it is about, or above the form: by its code
    (``invalid_url`` → url), or by the field its message starts with ("latitude must …")."""
    code = getattr(exc, "code", "") or ""
    field = _CODE_FIELDS.get(code) or code.removeprefix("invalid_").removeprefix("missing_")
    if field not in fields:
        first_word = exc.message.split(" ", 1)[0]
        field = first_word if first_word in fields else None
    if field is not None and field not in form.fields:
        field = None
    form.add_error(field, service_message(exc))
