from django.urls import path

from services.events import api, views

urlpatterns = [
    path("events", api.EventListApi.as_view(), name="api-events"),
    path("events/review", api.EventBulkReviewApi.as_view(), name="api-events-review-bulk"),
    path("events/<uuid:event_id>", api.EventDetailApi.as_view(), name="api-event-detail"),
    path("events/<uuid:event_id>/snapshot.jpg", api.EventSnapshotApi.as_view(), name="api-event-snapshot"),
    path("events/<uuid:event_id>/review", api.EventReviewApi.as_view(), name="api-event-review"),
    path("events/<uuid:event_id>/dispatch", api.EventDispatchApi.as_view(), name="api-event-dispatch"),
    path("events/<uuid:event_id>/reroute", api.EventRerouteApi.as_view(), name="api-event-reroute"),
    path("work-orders", api.WorkOrderListApi.as_view(), name="api-work-orders"),
    path("work-orders/<uuid:work_order_id>", api.WorkOrderDetailApi.as_view(), name="api-work-order-detail"),
    path("work-orders/<uuid:work_order_id>/photo", api.WorkOrderPhotoApi.as_view(), name="api-work-order-photo"),
    path("work-orders/<uuid:work_order_id>/<str:action>", api.WorkOrderTransitionApi.as_view(),
         name="api-work-order-transition"),
]

# Portal pages, mounted at /events/ in the namespace "events".
portal_urlpatterns = [
    path("", views.review_queue, name="queue"),
    path("review/", views.review_bulk, name="review-bulk"),
    path("fast-review/", views.review_fast, name="review-fast"),
    path("board/", views.work_order_board, name="board"),
    path("<uuid:event_id>/", views.event_detail, name="detail"),
    path("<uuid:event_id>/snapshot.jpg", views.event_snapshot, name="snapshot"),
    path("<uuid:event_id>/review/", views.event_review_view, name="review"),
    path("<uuid:event_id>/dispatch/", views.event_dispatch_view, name="dispatch"),
    path("<uuid:event_id>/reroute/", views.event_reroute_view, name="reroute"),
    path("work-orders/<uuid:work_order_id>/photo", views.work_order_photo, name="photo"),
    path("work-orders/<uuid:work_order_id>/<str:action>/", views.work_order_step, name="step"),
]
