"""JSON API for broadcasts. Any member reads; owners and admins create, cancel and resume.
Thin: services and selectors do the work; the task engine sends."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_errors import error_response, service_error_response
from common.api_schema import ORGANIZATION_ERRORS, ORGANIZATION_PARAMETER, error_responses
from common.errors import ServiceError
from messaging.api import PAGE_PARAMETERS, MessagePagination
from messaging.broadcasts import reports, selectors, services
from messaging.broadcasts.serializers import (
    BroadcastCreatedSerializer,
    BroadcastInputSerializer,
    BroadcastPageSerializer,
    BroadcastRecipientPageSerializer,
    BroadcastRecipientSerializer,
    BroadcastSerializer,
)
from organizations.permissions import IsManagerOrReadOnly, IsOrganizationMember
from organizations.request_context import api_membership, client_ip
from organizations.serializers import EMPTY_REQUEST, EmptySerializer

PERMISSIONS = [IsAuthenticated, IsOrganizationMember, IsManagerOrReadOnly]
D403 = "Only owners and admins can send, cancel or resume broadcasts."
D404 = "No such broadcast, or `X-Organization` names no organization the user belongs to."


def _not_found() -> Response:
    return error_response(
        "No such broadcast.", status_code=status.HTTP_404_NOT_FOUND, code="not_found"
    )


class BroadcastListView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        tags=["broadcasts"],
        summary="The organization's broadcasts, newest first (any member)",
        operation_id="broadcasts_list",
        parameters=[ORGANIZATION_PARAMETER, *PAGE_PARAMETERS],
        responses={200: BroadcastPageSerializer, **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request):
        paginator = MessagePagination()
        page = paginator.paginate_queryset(
            selectors.broadcasts_for(api_membership(request).organization), request, view=self
        )
        return paginator.get_paginated_response(BroadcastSerializer(page, many=True).data)

    @extend_schema(
        tags=["broadcasts"],
        summary="Send an approved template to groups and contacts (owners and admins)",
        description="Opted-out people, people without recorded consent, and (for a marketing "
        "template) United States numbers are recorded as skipped with the reason. The task "
        "engine sends the rest within the number's rate and messaging limits.",
        parameters=[ORGANIZATION_PARAMETER],
        request=BroadcastInputSerializer,
        responses={
            201: BroadcastCreatedSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                402,
                d402="The plan's monthly broadcast recipients are used up, or too few are left "
                "for this broadcast (`cap: broadcast_recipients`). Nothing was sent.",
                d403=D403,
            ),
        },
    )
    def post(self, request):
        serializer = BroadcastInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            broadcast = services.broadcast_create(
                membership=api_membership(request),
                ip=client_ip(request),
                **serializer.to_service_kwargs(),
            )
        except ServiceError as exc:
            return service_error_response(exc)
        return Response(BroadcastCreatedSerializer(broadcast).data, status=status.HTTP_201_CREATED)


class BroadcastDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        tags=["broadcasts"],
        summary="One broadcast with its progress (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={200: BroadcastSerializer, **error_responses(*ORGANIZATION_ERRORS, d404=D404)},
    )
    def get(self, request, broadcast_id):
        broadcast = selectors.broadcast_get(api_membership(request).organization, broadcast_id)
        if broadcast is None:
            return _not_found()
        return Response(BroadcastSerializer(broadcast).data)


class BroadcastRecipientsView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        tags=["broadcasts"],
        summary="A broadcast's recipients with their delivery status, paginated (any member)",
        parameters=[ORGANIZATION_PARAMETER, *PAGE_PARAMETERS],
        responses={
            200: BroadcastRecipientPageSerializer,
            **error_responses(*ORGANIZATION_ERRORS, d404=D404),
        },
    )
    def get(self, request, broadcast_id):
        broadcast = selectors.broadcast_get(api_membership(request).organization, broadcast_id)
        if broadcast is None:
            return _not_found()
        paginator = MessagePagination()
        page = paginator.paginate_queryset(
            selectors.broadcast_recipients(broadcast), request, view=self
        )
        return paginator.get_paginated_response(BroadcastRecipientSerializer(page, many=True).data)


class _BroadcastActionView(APIView):
    permission_classes = PERMISSIONS
    service = None

    def post(self, request, broadcast_id):
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        membership = api_membership(request)
        if selectors.broadcast_get(membership.organization, broadcast_id) is None:
            return _not_found()
        try:
            broadcast = type(self).service(
                membership=membership, broadcast_id=broadcast_id, ip=client_ip(request)
            )
        except ServiceError as exc:
            return service_error_response(exc)
        return Response(BroadcastSerializer(broadcast).data)


ACTION_SCHEMA = {
    "tags": ["broadcasts"],
    "parameters": [ORGANIZATION_PARAMETER],
    "request": EMPTY_REQUEST,
    "responses": {
        200: BroadcastSerializer,
        **error_responses(*ORGANIZATION_ERRORS, d403=D403, d404=D404),
    },
}


class BroadcastCancelView(_BroadcastActionView):
    service = services.broadcast_cancel

    @extend_schema(
        summary="Cancel: nobody still waiting receives it (owners and admins)", **ACTION_SCHEMA
    )
    def post(self, request, broadcast_id):
        return super().post(request, broadcast_id)


class BroadcastResumeView(_BroadcastActionView):
    service = services.broadcast_resume

    @extend_schema(summary="Resume a paused broadcast (owners and admins)", **ACTION_SCHEMA)
    def post(self, request, broadcast_id):
        return super().post(request, broadcast_id)


class BroadcastReportView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        tags=["broadcasts"],
        summary="The broadcast's recipients and their statuses as a CSV file (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, UTF-8."),
            **error_responses(*ORGANIZATION_ERRORS, d404=D404),
        },
    )
    def get(self, request, broadcast_id):
        broadcast = selectors.broadcast_get(api_membership(request).organization, broadcast_id)
        if broadcast is None:
            return _not_found()
        return reports.broadcast_report_response(broadcast)
