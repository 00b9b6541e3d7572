"""REST API for events and work orders: list and read (scoped), review one or many, move work orders."""

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from services.accounts.selectors import actor_from_request
from services.core.errors import NotFound
from services.core.pagination import CappedLimitOffsetPagination
from services.core.parsers import JSONParser, MultiPartParser
from services.events import selectors, services
from services.events.models import Event, EventReview, WorkOrder
from services.inference import inputs
from services.inference.access import inference_request_check_raw_input


class WorkOrderOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    event = serializers.PrimaryKeyRelatedField(read_only=True)
    assignee_bureau = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    dispatcher_bureau = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    overdue = serializers.SerializerMethodField()
    resolution_photo_url = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    class Meta:
        model = WorkOrder
        fields = ["id", "url", "event", "assignee_bureau", "dispatcher_bureau", "status", "instructions", "due_at",
                  "overdue", "overdue_since", "dispatched_at", "accepted_at", "resolved_at", "closed_at",
                  "resolution_note", "resolution_photo_url", "history"]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, obj) -> str:
        return self._absolute(reverse("api-work-order-detail", args=[obj.id]))

    def get_overdue(self, obj) -> bool:
        return bool(getattr(obj, "overdue", obj.is_overdue))

    def get_resolution_photo_url(self, obj) -> str | None:
        return self._absolute(reverse("api-work-order-photo", args=[obj.id])) if obj.resolution_photo else None

    def get_history(self, obj) -> list[dict]:
        return [{"at": t.at, "from": t.from_status, "to": t.to_status, "actor": t.actor, "note": t.note}
                for t in obj.transitions.all()]


class EventOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    scenario = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    bureau = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    source_bureau = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    evidence = serializers.SerializerMethodField()
    request_ids = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()
    work_order = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "url", "scenario", "bureau", "source_bureau", "source", "severity", "status",
                  "occurrence_count", "first_seen_at", "last_seen_at", "evidence", "request_ids", "review",
                  "work_order"]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, obj) -> str:
        return self._absolute(reverse("api-event-detail", args=[obj.id]))

    def get_evidence(self, obj) -> dict:
        # The snapshot and the text excerpt are the submitted input: not for auditors (see
        # services.inference.access); the summary and values are results.
        raw = self.context.get("raw", True)
        snapshot = None
        if raw and (obj.last_request.annotated_image or obj.first_request.annotated_image):
            snapshot = self._absolute(reverse("api-event-snapshot", args=[obj.id]))
        return {"summary": obj.summary, "excerpt": obj.excerpt if raw else None, "values": obj.values,
                "first_request_id": str(obj.first_request_id), "last_request_id": str(obj.last_request_id),
                "snapshot_url": snapshot}

    def get_request_ids(self, obj) -> list[str]:
        return [str(o.request_id) for o in sorted(obj.occurrences.all(), key=lambda o: o.seen_at)]

    def get_review(self, obj) -> dict | None:
        try:
            review = obj.review
        except EventReview.DoesNotExist:
            return None
        return {"decision": review.decision, "reason": review.reason, "reviewer": review.reviewer,
                "reviewed_at": review.reviewed_at}

    def get_work_order(self, obj) -> dict | None:
        try:
            wo = obj.work_order
        except WorkOrder.DoesNotExist:
            return None
        return WorkOrderOutput(wo, context=self.context).data


def _context(request, actor) -> dict:
    return {"request": request, "raw": actor.sees_raw_inputs}


def _paginated(view, request, actor, qs, serializer):
    paginator = CappedLimitOffsetPagination()
    page = paginator.paginate_queryset(qs, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True, context=_context(request, actor)).data)


class EventListApi(APIView):
    @extend_schema(operation_id="events_list", responses=EventOutput(many=True), parameters=[
        OpenApiParameter("status", str), OpenApiParameter("scenario", str),
        OpenApiParameter("to_review", bool, description="Only events my bureau must review."),
    ])
    def get(self, request):
        actor = actor_from_request(request)
        qs = selectors.event_list(
            actor=actor, status=request.query_params.get("status", ""),
            scenario_slug=request.query_params.get("scenario", ""),
            to_review=request.query_params.get("to_review") in ("1", "true"),
        )
        return _paginated(self, request, actor, qs, EventOutput)


class EventDetailApi(APIView):
    @extend_schema(operation_id="events_read", responses=EventOutput)
    def get(self, request, event_id):
        actor = actor_from_request(request)
        event = selectors.event_get(actor=actor, event_id=event_id)
        return Response(EventOutput(event, context=_context(request, actor)).data)


class EventSnapshotApi(APIView):
    @extend_schema(operation_id="events_snapshot", responses={(200, "image/jpeg"): bytes})
    def get(self, request, event_id):
        actor = actor_from_request(request)
        event = selectors.event_get(actor=actor, event_id=event_id)
        inference_request_check_raw_input(actor=actor)
        return snapshot_response(event)


def snapshot_response(event: Event) -> FileResponse:
    """The annotated image of the latest firing (else the first): evidence the responsible bureau may
    see even though the request itself belongs to the submitting bureau."""
    for request in (event.last_request, event.first_request):
        if request.annotated_image:
            return FileResponse(request.annotated_image.open("rb"), content_type="image/jpeg")
    raise NotFound("This event has no snapshot.", code="no_snapshot")


class ReviewInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=EventReview.Decision.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class BulkReviewInput(ReviewInput):
    event_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=200)


class EventReviewApi(APIView):
    @extend_schema(operation_id="events_review", request=ReviewInput, responses=EventOutput)
    def post(self, request, event_id):
        data = _valid(ReviewInput, request.data)
        actor = actor_from_request(request)
        services.event_review(actor=actor, event_id=event_id, **data)
        event = selectors.event_get(actor=actor, event_id=event_id)
        return Response(EventOutput(event, context=_context(request, actor)).data)


class EventBulkReviewApi(APIView):
    @extend_schema(operation_id="events_review_bulk", request=BulkReviewInput, responses=inline_serializer(
        "BulkReviewOutput", {"reviewed": serializers.ListField(child=serializers.UUIDField())}))
    def post(self, request):
        data = _valid(BulkReviewInput, request.data)
        reviews = services.event_review_bulk(actor=actor_from_request(request), event_ids=data["event_ids"],
                                             decision=data["decision"], reason=data["reason"])
        return Response({"reviewed": [str(r.event_id) for r in reviews]})


class DispatchInput(serializers.Serializer):
    # A slug or empty; spelled as a pattern that admits "" so the schema's default matches it (a
    # SlugField's pattern does not, and strict validators and client generators refuse the schema).
    assignee = serializers.RegexField(r"^[-a-zA-Z0-9_]*$", required=False, allow_blank=True, default="", max_length=64,
                                      help_text="Bureau slug; empty or left out: the responsible bureau.")
    instructions = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class EventDispatchApi(APIView):
    @extend_schema(operation_id="events_dispatch", request=DispatchInput, responses={201: WorkOrderOutput})
    def post(self, request, event_id):
        data = _valid(DispatchInput, request.data)
        wo = services.work_order_dispatch(actor=actor_from_request(request), event_id=event_id,
                                          assignee_slug=data["assignee"], instructions=data["instructions"])
        return Response(WorkOrderOutput(wo, context={"request": request}).data, status=201)


class RerouteInput(serializers.Serializer):
    bureau = serializers.SlugField(help_text="Slug of the bureau that should handle the complaint.")
    reason = serializers.CharField(max_length=500, help_text="Why; kept with the new routing exemplar.")


class EventRerouteApi(APIView):
    """Re-route a 12345 complaint awaiting review to another bureau, with a reason; the complaint
    becomes a routing exemplar of that bureau and the router retrains."""

    @extend_schema(operation_id="events_reroute", request=RerouteInput, responses=EventOutput)
    def post(self, request, event_id):
        from services.events.reroute import event_reroute

        data = _valid(RerouteInput, request.data)
        actor = actor_from_request(request)
        row = event_reroute(actor=actor, event_id=event_id, bureau_slug=data["bureau"], reason=data["reason"])
        if actor.bureau is not None and actor.bureau.pk not in (row.to_bureau_id, row.event.source_bureau_id):
            # The caller handed the complaint away and no longer sees the event.
            return Response({"id": str(row.event_id), "bureau": row.to_bureau.slug, "rerouted": True})
        event = selectors.event_get(actor=actor, event_id=event_id)
        return Response(EventOutput(event, context=_context(request, actor)).data)


class WorkOrderListApi(APIView):
    @extend_schema(operation_id="work_orders_list", responses=WorkOrderOutput(many=True), parameters=[
        OpenApiParameter("status", str), OpenApiParameter("overdue", bool)])
    def get(self, request):
        overdue = request.query_params.get("overdue")
        actor = actor_from_request(request)
        qs = selectors.work_order_list(actor=actor, status=request.query_params.get("status", ""),
                                       overdue=None if overdue is None else overdue in ("1", "true"))
        return _paginated(self, request, actor, qs, WorkOrderOutput)


class WorkOrderDetailApi(APIView):
    @extend_schema(operation_id="work_orders_read", responses=WorkOrderOutput)
    def get(self, request, work_order_id):
        wo = selectors.work_order_get(actor=actor_from_request(request), work_order_id=work_order_id)
        return Response(WorkOrderOutput(wo, context={"request": request}).data)


class WorkOrderPhotoApi(APIView):
    @extend_schema(operation_id="work_orders_photo", responses={(200, "image/jpeg"): bytes})
    def get(self, request, work_order_id):
        wo = selectors.work_order_get(actor=actor_from_request(request), work_order_id=work_order_id)
        if not wo.resolution_photo:
            raise NotFound("This work order has no photo.", code="no_photo")
        return FileResponse(wo.resolution_photo.open("rb"))


TRANSITIONS = ("accept", "resolve", "verify", "send-back")


class WorkOrderTransitionApi(APIView):
    """POST /work-orders/{id}/{accept|resolve|verify|send-back}; resolve takes multipart ``note`` and
    ``photo``; send-back takes ``reason``."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(operation_id="work_orders_transition", request=inline_serializer("TransitionInput", {
        "note": serializers.CharField(required=False), "reason": serializers.CharField(required=False),
        "photo": serializers.FileField(required=False)}), responses=WorkOrderOutput)
    def post(self, request, work_order_id, action):
        wo = work_order_transition(actor_from_request(request), work_order_id, action, request.data,
                                   request.FILES.get("photo"))
        return Response(WorkOrderOutput(wo, context={"request": request}).data)


def work_order_transition(actor, work_order_id, action: str, data, photo_upload=None) -> WorkOrder:
    """One entry for the API and the portal forms: dispatch the named step to its service."""
    note = str(data.get("note") or "")
    if action == "accept":
        return services.work_order_accept(actor=actor, work_order_id=work_order_id, note=note)
    if action == "resolve":
        photo = None
        if photo_upload is not None:
            if photo_upload.size > settings.CITYAI_MAX_UPLOAD_BYTES:
                raise inputs.too_large(photo_upload.size)
            photo = photo_upload.read()
        return services.work_order_resolve(actor=actor, work_order_id=work_order_id, note=note, photo=photo,
                                           photo_name=getattr(photo_upload, "name", ""))
    if action == "verify":
        return services.work_order_verify(actor=actor, work_order_id=work_order_id, note=note)
    if action == "send-back":
        return services.work_order_send_back(actor=actor, work_order_id=work_order_id,
                                             reason=str(data.get("reason") or note))
    raise NotFound(f"No step {action!r}; one of {', '.join(TRANSITIONS)}.", code="unknown_step")


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


