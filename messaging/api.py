"""JSON API for drafting and sending messages, the sent-messages history and usage."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_errors import service_error_response
from common.api_schema import ORGANIZATION_ERRORS, ORGANIZATION_PARAMETER, error_responses
from common.throttles import MessageThrottle
from messaging import services as message_services
from messaging.selectors import monthly_usage, sent_messages, templates_for
from messaging.serializers import (
    DraftSerializer,
    GenerateSerializer,
    MessageRecordSerializer,
    SendSerializer,
    SentSerializer,
    TemplateRefusedSerializer,
    TemplateSerializer,
    TemplateSubmitSerializer,
    TemplateSyncQueuedSerializer,
    UsageSerializer,
)
from organizations.permissions import (
    IsManagerOrReadOnly,
    IsOrganizationManager,
    IsOrganizationMember,
)
from organizations.request_context import api_membership, client_ip


class GenerateView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]
    throttle_classes = [MessageThrottle]

    @extend_schema(
        tags=["messages"],
        summary="Draft a message with the organization's AI provider (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        request=GenerateSerializer,
        responses={
            200: DraftSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                402,
                409,
                429,
                502,
                d402=(
                    "A monthly budget is used up (`error_code: budget_exhausted`): `cap` names "
                    "it and `resets_at` says when it starts again. Nothing was spent."
                ),
                d409="No AI provider is set up, or its stored key can no longer be read.",
                d502="The AI provider refused or failed; `error_code` classifies why.",
            ),
        },
    )
    def post(self, request):
        serializer = GenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A refusal (ServiceError) becomes the error body in common/api_errors.py.
        generation, credential = message_services.message_draft(
            membership=api_membership(request), **serializer.validated_data
        )
        context = {"provider": credential.provider, "credential": credential.name}
        return Response(DraftSerializer(generation, context=context).data)


class SendView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]
    throttle_classes = [MessageThrottle]

    @extend_schema(
        tags=["messages"],
        summary="Send a WhatsApp text or template message to a contact or number (any member)",
        description=(
            "Free text is allowed only while the contact's 24-hour window is open: to a contact "
            "whose window is closed it is refused with 409 `outside_window` before WhatsApp is "
            "called (send an approved `template` instead). A number that is not one of the "
            "organization's contacts is attempted, and WhatsApp's refusal classified. A marketing "
            "template to a contact who opted out or gave no consent is refused with 409."
        ),
        parameters=[ORGANIZATION_PARAMETER],
        request=SendSerializer,
        responses={
            200: SentSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                409,
                429,
                502,
                d409=(
                    "WhatsApp is not set up (`not_configured`, `token_unreadable`), the "
                    "contact's window is closed (`outside_window`), or the contact may not "
                    "receive marketing (`opted_out`, `no_consent`, `us_number`)."
                ),
                d502="WhatsApp refused the message or failed; `error_code` classifies why.",
            ),
        },
    )
    def post(self, request):
        serializer = SendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = message_services.message_send_request(
            membership=api_membership(request), **serializer.validated_data
        )
        return Response(SentSerializer(record).data)


class MessagePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    page_query_description = "From 1."
    page_size_query_description = "20 by default, 100 max."


# For views paginating by hand (a ListAPIView gets them from its pagination_class).
PAGE_PARAMETERS = [
    OpenApiParameter(
        name,
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        description=getattr(MessagePagination, f"{name}_query_description"),
    )
    for name in ("page", "page_size")
]


class MessageListView(ListAPIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]
    serializer_class = MessageRecordSerializer
    pagination_class = MessagePagination

    def get_queryset(self):
        return sent_messages(api_membership(self.request).organization)

    @extend_schema(
        tags=["messages"],
        summary="Sent messages, newest first, refused ones included (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={
            200: MessageRecordSerializer(many=True),
            **error_responses(
                *ORGANIZATION_ERRORS,
                d404="No such page, or `X-Organization` names no organization the user belongs to.",
            ),
        },
    )
    def get(self, request):
        return self.list(request)


class UsageView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    @extend_schema(
        tags=["messages"],
        summary="This month's drafts, sends, failures and AI tokens (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={200: UsageSerializer, **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request):
        return Response(UsageSerializer(monthly_usage(api_membership(request).organization)).data)


# --- templates ---------------------------------------------------------------------------------


class TemplateListView(APIView):
    permission_classes = [IsAuthenticated, IsManagerOrReadOnly]

    @extend_schema(
        tags=["templates"],
        summary="The organization's WhatsApp templates as last synced (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={200: TemplateSerializer(many=True), **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request):
        templates = templates_for(api_membership(request).organization)
        return Response(TemplateSerializer(templates, many=True).data)

    @extend_schema(
        tags=["templates"],
        summary="Submit a new template to Meta for review (owners, admins)",
        description=(
            "Give `body` (with `{{1}}`-style or `{{first_name}}`-style variables) and `examples`, "
            "and the server builds Meta's components; or give Meta's own `components` and "
            "`parameter_format`. Meta's rules are checked first: at most 1,024 characters, no "
            "variable at the very start or end."
        ),
        parameters=[ORGANIZATION_PARAMETER],
        request=TemplateSubmitSerializer,
        responses={
            201: TemplateSerializer,
            400: OpenApiResponse(
                TemplateRefusedSerializer,
                description="The template breaks Meta's rules, or Meta refused it.",
            ),
            **error_responses(
                401,
                403,
                404,
                409,
                502,
                d409="WhatsApp is not set up, or its stored token can no longer be read.",
            ),
        },
    )
    def post(self, request):
        serializer = TemplateSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            template = message_services.template_submit(
                membership=api_membership(request),
                ip=client_ip(request),
                **serializer.validated_data,
            )
        except message_services.TemplateRefused as exc:
            # Other refusals become the error body in common/api_errors.py; this one also
            # carries Meta's own reason.
            extra = {"meta_reason": exc.detail} if exc.detail else {}
            return service_error_response(exc, serializer=TemplateRefusedSerializer, **extra)
        return Response(TemplateSerializer(template).data, status=201)


class TemplateSyncView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]

    @extend_schema(
        tags=["templates"],
        summary="Queue a sync of the templates from Meta (owners, admins)",
        parameters=[ORGANIZATION_PARAMETER],
        # No input: an empty JSON object, or no body at all.
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            202: TemplateSyncQueuedSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                409,
                d409="WhatsApp is not set up, or its stored token can no longer be read.",
            ),
        },
    )
    def post(self, request):
        request.data  # noqa: B018 -- no body is needed, but one that cannot be parsed is a 400
        message_services.template_sync_request(
            membership=api_membership(request), ip=client_ip(request)
        )
        return Response(TemplateSyncQueuedSerializer({"status": "queued"}).data, status=202)
