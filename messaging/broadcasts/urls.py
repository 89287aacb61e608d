from django.urls import path

from messaging.broadcasts import views

urlpatterns = [
    path("broadcasts/", views.broadcast_list, name="broadcasts"),
    path("broadcasts/new/", views.broadcast_new, name="broadcast-new"),
    path("broadcasts/<int:broadcast_id>/", views.broadcast_detail, name="broadcast-detail"),
    path(
        "broadcasts/<int:broadcast_id>/progress/",
        views.broadcast_progress,
        name="broadcast-progress",
    ),
    path(
        "broadcasts/<int:broadcast_id>/report.csv", views.broadcast_report, name="broadcast-report"
    ),
    path("broadcasts/<int:broadcast_id>/cancel/", views.broadcast_cancel, name="broadcast-cancel"),
    path("broadcasts/<int:broadcast_id>/resume/", views.broadcast_resume, name="broadcast-resume"),
]
