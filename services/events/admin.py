from django.contrib import admin

from services.events.models import Event, EventOccurrence, EventReview, WorkOrder, WorkOrderTransition


class OccurrenceInline(admin.TabularInline):
    model = EventOccurrence
    extra = 0
    raw_id_fields = ["request"]
    readonly_fields = ["request", "seen_at"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "scenario", "bureau", "source_bureau", "source", "severity", "status", "occurrence_count",
                    "last_seen_at"]
    list_filter = ["status", "severity", "bureau"]
    search_fields = ["source", "summary", "scenario__slug"]
    raw_id_fields = ["first_request", "last_request"]
    inlines = [OccurrenceInline]


@admin.register(EventReview)
class EventReviewAdmin(admin.ModelAdmin):
    list_display = ["event", "scenario", "decision", "reviewer", "reviewed_at"]
    list_filter = ["decision", "scenario"]


class TransitionInline(admin.TabularInline):
    model = WorkOrderTransition
    extra = 0
    readonly_fields = ["from_status", "to_status", "actor", "bureau", "by", "at", "note"]


@admin.register(WorkOrder)
class WorkOrderAdmin(admin.ModelAdmin):
    list_display = ["id", "assignee_bureau", "dispatcher_bureau", "status", "due_at", "overdue_since"]
    list_filter = ["status", "assignee_bureau"]
    inlines = [TransitionInline]
