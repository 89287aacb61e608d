from django.urls import path

from messaging.broadcasts import api

urlpatterns = [
    path("broadcasts", api.BroadcastListView.as_view(), name="api-broadcasts"),
    path("broadcasts/<str:broadcast_id>", api.BroadcastDetailView.as_view(), name="api-broadcast"),
    path(
        "broadcasts/<str:broadcast_id>/recipients",
        api.BroadcastRecipientsView.as_view(),
        name="api-broadcast-recipients",
    ),
    path(
        "broadcasts/<str:broadcast_id>/cancel",
        api.BroadcastCancelView.as_view(),
        name="api-broadcast-cancel",
    ),
    path(
        "broadcasts/<str:broadcast_id>/resume",
        api.BroadcastResumeView.as_view(),
        name="api-broadcast-resume",
    ),
    path(
        "broadcasts/<str:broadcast_id>/report.csv",
        api.BroadcastReportView.as_view(),
        name="api-broadcast-report",
    ),
]
