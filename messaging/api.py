"""JSON API for drafting and sending messages, the sent-messages history and usage."""

from drf_spectacular.utils import extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_errors import service_error_response
from common.api_schema import ORGANIZATION_ERRORS, ORGANIZATION_PARAMETER, error_responses
from common.throttles import MessageThrottle
from messaging import api_schema
from messaging import services as message_services
from messaging.selectors import monthly_usage, sent_messages
from messaging.serializers import GenerateSerializer, MessageRecordSerializer, SendSerializer
from organizations.permissions import IsOrganizationMember
from organizations.request_context import api_membership


class GenerateView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]
    throttle_classes = [MessageThrottle]

    @extend_schema(
        tags=["messages"],
        summary="Draft a message with the organization's AI provider (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        request=GenerateSerializer,
        responses={
            200: api_schema.DraftSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                409,
                429,
                502,
                d409="No AI provider is set up, or its stored key can no longer be read.",
                d502="The AI provider refused or failed; `error_code` classifies why.",
            ),
        },
    )
    def post(self, request):
        serializer = GenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            generation, provider = message_services.message_draft(
                membership=api_membership(request), **serializer.validated_data
            )
        except message_services.ServiceError as exc:
            return service_error_response(exc)
        return Response(
            {
                "text": generation.text,
                "provider": provider,
                "model": generation.model,
                "usage": {
                    "input_tokens": generation.input_tokens,
                    "output_tokens": generation.output_tokens,
                },
            }
        )


class SendView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]
    throttle_classes = [MessageThrottle]

    @extend_schema(
        tags=["messages"],
        summary="Send a WhatsApp text message (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        request=SendSerializer,
        responses={
            200: api_schema.SentSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                409,
                429,
                502,
                d409="WhatsApp is not set up, or its stored token can no longer be read.",
                d502="WhatsApp refused the message or failed; `error_code` classifies why.",
            ),
        },
    )
    def post(self, request):
        serializer = SendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            record = message_services.message_send(
                membership=api_membership(request), **serializer.validated_data
            )
        except message_services.ServiceError as exc:
            return service_error_response(exc)
        return Response({"success": True, "message_id": record.message_id, "status": record.status})


class MessagePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class MessageListView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    @extend_schema(
        tags=["messages"],
        summary="Sent messages, newest first, refused ones included (any member)",
        parameters=[ORGANIZATION_PARAMETER, *api_schema.PAGE_PARAMETERS],
        responses={
            200: api_schema.MessagePageSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                d404="No such page, or `X-Organization` names no organization the user belongs to.",
            ),
        },
    )
    def get(self, request):
        paginator = MessagePagination()
        page = paginator.paginate_queryset(
            sent_messages(api_membership(request).organization), request, view=self
        )
        return paginator.get_paginated_response(MessageRecordSerializer(page, many=True).data)


class UsageView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    @extend_schema(
        tags=["messages"],
        summary="This month's drafts, sends, failures and AI tokens (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={200: api_schema.UsageSerializer, **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request):
        return Response(monthly_usage(api_membership(request).organization))
