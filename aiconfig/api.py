"""JSON API for an organization's AI settings. Thin: services do the work."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from aiconfig import api_schema, services
from aiconfig.selectors import ai_config_for
from aiconfig.serializers import AIConfigInputSerializer
from common.api_errors import service_error_response
from common.api_schema import ORGANIZATION_ERRORS, ORGANIZATION_PARAMETER, error_responses
from organizations.permissions import IsManagerOrReadOnly, IsOrganizationManager
from organizations.request_context import api_membership, client_ip
from organizations.throttles import CredentialTestThrottle

NOT_CONFIGURED = {
    "configured": False,
    "provider": None,
    "api_key_masked": None,
    "model": None,
    "base_url": None,
}


def config_payload(config) -> dict:
    payload = {
        "configured": True,
        "provider": config.provider,
        "api_key_masked": config.api_key_masked,
        "model": config.model,
        "base_url": config.base_url or None,
        "last_tested_at": config.last_tested_at,
        "last_test_ok": config.last_test_ok,
        "last_error_code": config.last_error_code or None,
        "models": config.available_models,
        "updated_at": config.updated_at,
        "key_status": "unreadable" if config.key_unreadable else "ok",
    }
    if config.key_unreadable:
        payload["key_message"] = services.KEY_UNREADABLE_MESSAGE
    return payload


class AIConfigView(APIView):
    permission_classes = [IsAuthenticated, IsManagerOrReadOnly]
    throttle_scope = "ai_key_test"

    throttle_classes = [CredentialTestThrottle]

    @extend_schema(
        tags=["ai-settings"],
        summary="The organization's AI settings, key masked (any member)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={
            200: api_schema.AIConfigResponseSerializer,
            **error_responses(*ORGANIZATION_ERRORS),
        },
    )
    def get(self, request):
        config = ai_config_for(api_membership(request).organization)
        return Response(config_payload(config) if config else NOT_CONFIGURED)

    @extend_schema(
        tags=["ai-settings"],
        summary="Test the key live with the provider and save it when accepted (owners, admins)",
        description=(
            "Omit `api_key` (or send null or an empty string) to keep the stored key "
            "(same provider only). Nothing is saved unless the provider accepts the key."
        ),
        parameters=[ORGANIZATION_PARAMETER],
        request=AIConfigInputSerializer,
        responses={
            200: api_schema.AIConfigSavedSerializer,
            400: api_schema.AIKeyFailureSerializer,
            **error_responses(401, 403, 404, 429),
        },
    )
    def put(self, request):
        serializer = AIConfigInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            config, _ = services.ai_config_save(
                membership=api_membership(request), ip=client_ip(request), **data
            )
        except services.ServiceError as exc:
            return service_error_response(exc, success=False, provider=data["provider"])
        return Response(
            {
                "success": True,
                "message": "AI configuration saved successfully",
                **config_payload(config),
            }
        )

    @extend_schema(
        tags=["ai-settings"],
        summary="Remove the AI settings and the stored key (owners, admins)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={204: None, **error_responses(*ORGANIZATION_ERRORS)},
    )
    def delete(self, request):
        services.ai_config_delete(membership=api_membership(request), ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AIConfigTestView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]
    throttle_classes = [CredentialTestThrottle]
    throttle_scope = "ai_key_test"

    @extend_schema(
        tags=["ai-settings"],
        summary="Test a key live with the provider without saving it (owners, admins)",
        description=(
            "200 with `success: true` when the provider accepted the key, or `success: false` "
            "and a classified `error_code` when it refused it. Omit `api_key` to test the "
            "stored key."
        ),
        parameters=[ORGANIZATION_PARAMETER],
        request=AIConfigInputSerializer,
        responses={
            200: api_schema.AI_KEY_TEST_RESULT,
            400: api_schema.AIKeyFailureSerializer,
            **error_responses(401, 403, 404, 429),
        },
    )
    def post(self, request):
        serializer = AIConfigInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            result = services.ai_config_test(membership=api_membership(request), **data)
        except services.ServiceError as exc:
            return service_error_response(exc, success=False, provider=data["provider"])
        if not result.success:
            return Response(
                {
                    "success": False,
                    "provider": result.provider,
                    "error": result.error,
                    "error_code": result.error_code,
                    "model": result.model,
                    "latency_ms": result.latency_ms,
                }
            )
        return Response(
            {
                "success": True,
                "provider": result.provider,
                "message": "API key is valid",
                "response": result.response,
                "models": result.models,
                "model": result.model,
                "latency_ms": result.latency_ms,
            }
        )
