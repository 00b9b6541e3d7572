"""REST API for events and work orders: list and read (scoped), review one or many, move work orders."""

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response

from services.core import fields
from services.core.api import InputSerializer, ScopedApiView
from services.core.errors import NotFound
from services.core.parsers import JSONParser, MultiPartParser
from services.events import selectors, services
from services.events.models import Event, EventReview, WorkOrder
from services.inference.access import inference_request_check_raw_input


class WorkOrderOutput(serializers.ModelSerializer):
    url = fields.AbsoluteUrlField("api-work-order-detail")
    event = serializers.PrimaryKeyRelatedField(read_only=True)
    assignee_bureau = fields.RelatedSlugField()
    dispatcher_bureau = fields.RelatedSlugField()
    overdue = serializers.SerializerMethodField()
    resolution_photo_url = fields.AbsoluteUrlField("api-work-order-photo", when="resolution_photo")
    history = serializers.SerializerMethodField()

    class Meta:
        model = WorkOrder
        fields = ["id", "url", "event", "assignee_bureau", "dispatcher_bureau", "status", "instructions", "due_at",
                  "overdue", "overdue_since", "dispatched_at", "accepted_at", "resolved_at", "closed_at",
                  "resolution_note", "resolution_photo_url", "history"]

    def get_overdue(self, obj) -> bool:
        return bool(getattr(obj, "overdue", obj.is_overdue))

    def get_history(self, obj) -> list[dict]:
        return [{"at": t.at, "from": t.from_status, "to": t.to_status, "actor": t.actor, "note": t.note}
                for t in obj.transitions.all()]


class EventOutput(serializers.ModelSerializer):
    url = fields.AbsoluteUrlField("api-event-detail")
    scenario = fields.RelatedSlugField()
    bureau = fields.RelatedSlugField()
    source_bureau = fields.RelatedSlugField()
    evidence = serializers.SerializerMethodField()
    request_ids = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()
    work_order = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "url", "scenario", "bureau", "source_bureau", "source", "severity", "status",
                  "occurrence_count", "first_seen_at", "last_seen_at", "evidence", "request_ids", "review",
                  "work_order"]

    def get_evidence(self, obj) -> dict:
        # The snapshot and the text excerpt are the submitted input: not for auditors (see
        # services.inference.access); the summary and values are results.
        actor = self.context.get("actor")
        raw = actor is None or actor.sees_raw_inputs
        snapshot = None
        if raw and (obj.last_request.annotated_image or obj.first_request.annotated_image):
            snapshot = fields.absolute_url(self.context.get("request"), reverse("api-event-snapshot", args=[obj.id]))
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


class EventListQuery(InputSerializer):
    others_allowed = True  # the paginator's limit and offset
    status = serializers.CharField(required=False, allow_blank=True, default="")
    scenario = serializers.CharField(required=False, allow_blank=True, default="", help_text="Scenario slug")
    to_review = serializers.BooleanField(required=False, default=False, help_text="Only events my bureau must review.")


class EventListApi(ScopedApiView):
    @extend_schema(operation_id="events_list", parameters=[EventListQuery], responses=EventOutput(many=True))
    def get(self, request):
        query = self.read(EventListQuery, request.query_params)
        qs = selectors.event_list(actor=self.actor, status=query["status"], scenario_slug=query["scenario"],
                                  to_review=query["to_review"])
        return self.paginated(qs, EventOutput)


class _EventApi(ScopedApiView):
    def event_answer(self, event_id) -> Response:
        """The event as the caller now sees it (after a review or a re-route, too)."""
        event = selectors.event_get(actor=self.actor, event_id=event_id)
        return Response(EventOutput(event, context=self.serializer_context()).data)


class EventDetailApi(_EventApi):
    @extend_schema(operation_id="events_read", responses=EventOutput)
    def get(self, request, event_id):
        return self.event_answer(event_id)


class EventSnapshotApi(ScopedApiView):
    @extend_schema(operation_id="events_snapshot", responses={(200, "image/jpeg"): bytes})
    def get(self, request, event_id):
        event = selectors.event_get(actor=self.actor, event_id=event_id)
        inference_request_check_raw_input(actor=self.actor)
        return FileResponse(selectors.event_snapshot(event).open("rb"), content_type="image/jpeg")


class ReviewInput(InputSerializer):
    decision = serializers.ChoiceField(choices=EventReview.Decision.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class BulkReviewInput(ReviewInput):
    event_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=200)


class EventReviewApi(_EventApi):
    @extend_schema(operation_id="events_review", request=ReviewInput, responses=EventOutput)
    def post(self, request, event_id):
        services.event_review(actor=self.actor, event_id=event_id, **self.read(ReviewInput))
        return self.event_answer(event_id)


class EventBulkReviewApi(ScopedApiView):
    @extend_schema(operation_id="events_review_bulk", request=BulkReviewInput, responses=inline_serializer(
        "BulkReviewOutput", {"reviewed": serializers.ListField(child=serializers.UUIDField())}))
    def post(self, request):
        data = self.read(BulkReviewInput)
        reviews = services.event_review_bulk(actor=self.actor, event_ids=data["event_ids"],
                                             decision=data["decision"], reason=data["reason"])
        return Response({"reviewed": [str(r.event_id) for r in reviews]})


class DispatchInput(InputSerializer):
    # A slug or empty; spelled as a pattern that admits "" so the schema's default matches it (a
    # SlugField's pattern does not, and strict validators and client generators refuse the schema).
    assignee = serializers.RegexField(r"^[-a-zA-Z0-9_]*$", required=False, allow_blank=True, default="", max_length=64,
                                      help_text="Bureau slug; empty or left out: the responsible bureau.")
    instructions = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class EventDispatchApi(ScopedApiView):
    @extend_schema(operation_id="events_dispatch", request=DispatchInput, responses={201: WorkOrderOutput})
    def post(self, request, event_id):
        data = self.read(DispatchInput)
        wo = services.work_order_dispatch(actor=self.actor, event_id=event_id, assignee_slug=data["assignee"],
                                          instructions=data["instructions"])
        return Response(WorkOrderOutput(wo, context=self.serializer_context()).data, status=201)


class RerouteInput(InputSerializer):
    bureau = serializers.SlugField(help_text="Slug of the bureau that should handle the complaint.")
    reason = serializers.CharField(max_length=500, help_text="Why; kept with the new routing exemplar.")


class EventRerouteApi(_EventApi):
    """Re-route a 12345 complaint awaiting review to another bureau, with a reason; the complaint
    becomes a routing exemplar of that bureau and the router retrains."""

    @extend_schema(operation_id="events_reroute", request=RerouteInput, responses=EventOutput)
    def post(self, request, event_id):
        from services.events.reroute import event_reroute

        data = self.read(RerouteInput)
        row = event_reroute(actor=self.actor, event_id=event_id, bureau_slug=data["bureau"], reason=data["reason"])
        bureau = self.actor.bureau
        if bureau is not None and bureau.pk not in (row.to_bureau_id, row.event.source_bureau_id):
            # The caller handed the complaint away and no longer sees the event.
            return Response({"id": str(row.event_id), "bureau": row.to_bureau.slug, "rerouted": True})
        return self.event_answer(event_id)


class WorkOrderListQuery(InputSerializer):
    others_allowed = True  # the paginator's limit and offset
    status = serializers.CharField(required=False, allow_blank=True, default="")
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None,
                                       help_text="Only overdue (true) or only not overdue (false) work orders.")


class WorkOrderListApi(ScopedApiView):
    @extend_schema(operation_id="work_orders_list", parameters=[WorkOrderListQuery],
                   responses=WorkOrderOutput(many=True))
    def get(self, request):
        query = self.read(WorkOrderListQuery, request.query_params)
        qs = selectors.work_order_list(actor=self.actor, status=query["status"], overdue=query["overdue"])
        return self.paginated(qs, WorkOrderOutput)


class WorkOrderDetailApi(ScopedApiView):
    @extend_schema(operation_id="work_orders_read", responses=WorkOrderOutput)
    def get(self, request, work_order_id):
        wo = selectors.work_order_get(actor=self.actor, work_order_id=work_order_id)
        return Response(WorkOrderOutput(wo, context=self.serializer_context()).data)


class WorkOrderPhotoApi(ScopedApiView):
    @extend_schema(operation_id="work_orders_photo", responses={(200, "image/jpeg"): bytes})
    def get(self, request, work_order_id):
        wo = selectors.work_order_get(actor=self.actor, work_order_id=work_order_id)
        if not wo.resolution_photo:
            raise NotFound("This work order has no photo.", code="no_photo")
        return FileResponse(wo.resolution_photo.open("rb"))


class TransitionInput(InputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text="Any step's note")
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="send-back: why (else the note)")
    photo = fields.UploadField(codes={"invalid": "invalid_photo"}, help_text="resolve: a photo of the result")


class WorkOrderTransitionApi(ScopedApiView):
    """POST /work-orders/{id}/{accept|resolve|verify|send-back}; resolve takes multipart ``note`` and
    ``photo``; send-back takes ``reason``."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(operation_id="work_orders_transition", request=TransitionInput, responses=WorkOrderOutput)
    def post(self, request, work_order_id, action):
        data = self.read(TransitionInput)
        photo = data.get("photo")
        wo = services.work_order_step(actor=self.actor, work_order_id=work_order_id, action=action,
                                      note=data["note"], reason=data["reason"],
                                      photo=photo.content if photo else None, photo_name=photo.name if photo else "")
        return Response(WorkOrderOutput(wo, context=self.serializer_context()).data)
