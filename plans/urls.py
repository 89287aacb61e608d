from django.urls import path

from plans import views

urlpatterns = [
    path("plan/", views.plan_page, name="plan"),
    path("plan/chart/<slug:kind>.svg", views.chart_svg, name="plan-chart"),
]
