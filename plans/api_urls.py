from django.urls import path

from plans import api

urlpatterns = [
    path("usage", api.UsageView.as_view(), name="api-usage"),
    path("usage/export", api.UsageExportView.as_view(), name="api-usage-export"),
    path("plan", api.PlanView.as_view(), name="api-plan"),
    path("plan/budget", api.BudgetView.as_view(), name="api-plan-budget"),
]
