"""JSON API for drafting and sending messages, the sent-messages history and usage."""

from django.conf import settings
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from organizations.permissions import IsOrganizationMember
from organizations.request_context import api_membership
from whatsapp import message_services
from whatsapp.message_selectors import monthly_usage, sent_messages
from whatsapp.message_serializers import GenerateSerializer, MessageRecordSerializer, SendSerializer


class MessageRateThrottle(UserRateThrottle):
    """Limits drafts and sends per user (each one costs the organization money)."""

    scope = "messages"

    def get_rate(self):
        return settings.MESSAGES_RATE


def failure(exc: message_services.ServiceError) -> Response:
    return Response({"error": exc.message, "error_code": exc.code}, status=exc.status)


class GenerateView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]
    throttle_classes = [MessageRateThrottle]

    def post(self, request):
        serializer = GenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            generation, provider = message_services.message_draft(
                membership=api_membership(request), **serializer.validated_data
            )
        except message_services.ServiceError as exc:
            return failure(exc)
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
    throttle_classes = [MessageRateThrottle]

    def post(self, request):
        serializer = SendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            record = message_services.message_send(
                membership=api_membership(request), **serializer.validated_data
            )
        except message_services.ServiceError as exc:
            return failure(exc)
        return Response({"success": True, "message_id": record.message_id, "status": record.status})


class MessagePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class MessageListView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    def get(self, request):
        paginator = MessagePagination()
        page = paginator.paginate_queryset(
            sent_messages(api_membership(request).organization), request, view=self
        )
        return paginator.get_paginated_response(MessageRecordSerializer(page, many=True).data)


class UsageView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    def get(self, request):
        return Response(monthly_usage(api_membership(request).organization))
