"""JSON API: the month's usage against the caps, the plan, the owner's budget, and the
superusers' CSV export of every organization's month."""

import csv
from decimal import Decimal

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_schema import ORGANIZATION_ERRORS, ORGANIZATION_PARAMETER, error_responses
from organizations.permissions import IsOrganizationMember
from organizations.request_context import api_membership, client_ip
from plans import selectors, services
from plans.serializers import (
    BudgetSerializer,
    MonthQuerySerializer,
    MonthUsageSerializer,
    PlanSerializer,
)

MONTH_PARAMETER = OpenApiParameter(
    name="month",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.QUERY,
    required=False,
    description="The month as YYYY-MM; this month when omitted.",
)


def _month(request):
    query = MonthQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("month") or services.month_start()


class UsageView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    @extend_schema(
        tags=["plans"],
        summary="A month's AI and WhatsApp usage, per day, against the caps (any member)",
        parameters=[ORGANIZATION_PARAMETER, MONTH_PARAMETER],
        responses={200: MonthUsageSerializer, **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request):
        month = _month(request)
        usage = selectors.usage_month(api_membership(request).organization, month)
        return Response(MonthUsageSerializer(usage).data)


class PlanView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    @extend_schema(
        tags=["plans"],
        summary="The organization's plan, what it includes, and its budgets (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={200: PlanSerializer, **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request):
        return Response(PlanSerializer(api_membership(request).organization).data)


class BudgetView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    @extend_schema(
        tags=["plans"],
        summary="Set the monthly budget of the organization's own AI key (owners)",
        description=(
            "`null` removes a cap. Enterprise organizations may also choose which key goes "
            "first. The platform key's budget is set by the platform's administrators."
        ),
        parameters=[ORGANIZATION_PARAMETER],
        request=BudgetSerializer,
        responses={
            200: PlanSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS, d403="Only owners change the organization's budget."
            ),
        },
    )
    def put(self, request):
        membership = api_membership(request)
        serializer = BudgetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organization = services.organization_budget_update(
            membership=membership, ip=client_ip(request), **serializer.validated_data
        )
        return Response(PlanSerializer(organization).data)


class IsSuperuser(BasePermission):
    message = "Only the platform's administrators can export every organization's usage."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_superuser)


class UsageExportView(APIView):
    permission_classes = [IsAuthenticated, IsSuperuser]

    @extend_schema(
        tags=["plans"],
        summary="Every organization's usage of a month as CSV (superusers, for invoicing)",
        parameters=[MONTH_PARAMETER],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="One row per organization."
            ),
            **error_responses(400, 401, 403),
        },
    )
    def get(self, request):
        return usage_csv_response(_month(request))


def _cell(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; an amount is
    written in plain digits ("0.00000000", not "0E-8")."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if not isinstance(value, str):
        return value
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def usage_csv_response(month) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{month:%Y-%m}.csv"'
    writer = csv.writer(response)
    writer.writerow(selectors.EXPORT_COLUMNS)
    for row in selectors.usage_export_rows(month):
        writer.writerow([_cell(v) for v in row])
    return response
