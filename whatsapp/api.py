"""JSON API for an organization's WhatsApp settings. Thin: services do the work."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_errors import service_error_response
from common.api_schema import ORGANIZATION_ERRORS, ORGANIZATION_PARAMETER, error_responses
from common.errors import ServiceError
from organizations.permissions import IsManagerOrReadOnly, IsOrganizationManager
from organizations.request_context import api_membership, client_ip
from organizations.throttles import CredentialTestThrottle
from whatsapp import api_schema, services
from whatsapp.selectors import whatsapp_config_for
from whatsapp.serializers import WhatsAppConfigInputSerializer

NOT_CONFIGURED = {
    "configured": False,
    "phone_number_id": None,
    "business_account_id": None,
    "access_token_masked": None,
}


def webhook_url(config) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("whatsapp-webhook", args=[config.webhook_id])


def config_payload(config, *, can_manage: bool) -> dict:
    payload = {
        "configured": True,
        "phone_number_id": config.phone_number_id,
        "business_account_id": config.business_account_id,
        "access_token_masked": config.access_token_masked,
        "display_phone_number": config.display_phone_number,
        "verified_name": config.verified_name,
        "quality_rating": config.quality_rating or None,
        "webhook_url": webhook_url(config),
        "app_secret_set": config.has_app_secret,
        "last_verified_at": config.last_verified_at,
        "token_status": "unreadable" if config.token_unreadable else "ok",
    }
    if config.token_unreadable:
        payload["token_message"] = services.TOKEN_UNREADABLE_MESSAGE
    if can_manage:
        payload["webhook_verify_token"] = config.webhook_verify_token
    return payload


class WhatsAppConfigView(APIView):
    permission_classes = [IsAuthenticated, IsManagerOrReadOnly]
    throttle_scope = "whatsapp_test"

    throttle_classes = [CredentialTestThrottle]

    @extend_schema(
        tags=["whatsapp-settings"],
        summary="The organization's WhatsApp settings, token masked (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={
            200: api_schema.WhatsAppConfigResponseSerializer,
            **error_responses(*ORGANIZATION_ERRORS),
        },
    )
    def get(self, request):
        membership = api_membership(request)
        config = whatsapp_config_for(membership.organization)
        if config is None:
            return Response(NOT_CONFIGURED)
        return Response(config_payload(config, can_manage=membership.can_manage))

    @extend_schema(
        tags=["whatsapp-settings"],
        summary="Verify the credentials with Meta and save them when accepted (owners, admins)",
        description=(
            "Omit `access_token` (or send null or an empty string) to keep the stored token. "
            "Omit `app_secret` to keep the stored one; an empty string removes it. Nothing is "
            "saved unless Meta accepts the credentials."
        ),
        parameters=[ORGANIZATION_PARAMETER],
        request=WhatsAppConfigInputSerializer,
        responses={
            200: api_schema.WhatsAppConfigSavedSerializer,
            400: api_schema.WhatsAppFailureSerializer,
            **error_responses(401, 403, 404, 429),
        },
    )
    def put(self, request):
        serializer = WhatsAppConfigInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = api_membership(request)
        try:
            config = services.whatsapp_config_save(
                membership=membership, ip=client_ip(request), **serializer.validated_data
            )
        except ServiceError as exc:
            return service_error_response(exc, success=False)
        return Response(
            {
                "success": True,
                "message": "WhatsApp configuration saved successfully",
                **config_payload(config, can_manage=True),
            }
        )

    @extend_schema(
        tags=["whatsapp-settings"],
        summary="Remove the WhatsApp settings and the stored token (owners, admins)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={204: None, **error_responses(*ORGANIZATION_ERRORS)},
    )
    def delete(self, request):
        services.whatsapp_config_delete(membership=api_membership(request), ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WhatsAppConfigTestView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]
    throttle_classes = [CredentialTestThrottle]
    throttle_scope = "whatsapp_test"

    @extend_schema(
        tags=["whatsapp-settings"],
        summary="Verify credentials with Meta without saving them (owners, admins)",
        description=(
            "200 with `success: true` and the number's details when Meta accepted the "
            "credentials, or `success: false` and a classified `error_code` when it refused "
            "them. Omit `access_token` to test the stored token."
        ),
        parameters=[ORGANIZATION_PARAMETER],
        request=WhatsAppConfigInputSerializer,
        responses={
            200: api_schema.WHATSAPP_TEST_RESULT,
            400: api_schema.WhatsAppFailureSerializer,
            **error_responses(401, 403, 404, 429),
        },
    )
    def post(self, request):
        serializer = WhatsAppConfigInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("app_secret", None)
        try:
            info = services.whatsapp_config_test(membership=api_membership(request), **data)
        except services.VerificationFailed as exc:
            # Meta's verdict on the credentials is the answer, not an error of the request.
            return service_error_response(exc, status_code=200, success=False)
        except ServiceError as exc:
            return service_error_response(exc, success=False)
        return Response(
            {
                "success": True,
                "display_phone_number": info.display_phone_number,
                "verified_name": info.verified_name,
                "quality_rating": info.quality_rating,
            }
        )
