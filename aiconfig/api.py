"""JSON API for an organization's AI settings. Thin: services do the work."""

from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from aiconfig import services
from aiconfig.selectors import ai_config_for
from aiconfig.serializers import AIConfigInputSerializer
from common.throttles import CredentialTestOrganizationThrottle, CredentialTestUserThrottle
from organizations.permissions import IsManagerOrReadOnly, IsOrganizationManager
from organizations.request_context import api_membership, client_ip

NOT_CONFIGURED = {
    "configured": False,
    "provider": None,
    "api_key_masked": None,
    "model": None,
    "base_url": None,
}
CREDENTIAL_TEST_THROTTLES = [CredentialTestUserThrottle, CredentialTestOrganizationThrottle]


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


def failure_payload(provider: str, exc: services.ServiceError) -> dict:
    body = {"success": False, "provider": provider, "error": exc.message, "error_code": exc.code}
    if exc.field:
        body["fields"] = {exc.field: [exc.message]}
    return body


class AIConfigView(APIView):
    permission_classes = [IsAuthenticated, IsManagerOrReadOnly]
    throttle_scope = "ai_key_test"

    def get_throttles(self):
        # PUT runs a live key test too.
        return [t() for t in CREDENTIAL_TEST_THROTTLES] if self.request.method == "PUT" else []

    def get(self, request):
        config = ai_config_for(api_membership(request).organization)
        return Response(config_payload(config) if config else NOT_CONFIGURED)

    def put(self, request):
        serializer = AIConfigInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            config, _ = services.ai_config_save(
                membership=api_membership(request), ip=client_ip(request), **data
            )
        except services.ServiceError as exc:
            if exc.status != 400:
                raise
            return Response(
                failure_payload(data["provider"], exc), status=status.HTTP_400_BAD_REQUEST
            )
        return Response(
            {
                "success": True,
                "message": "AI configuration saved successfully",
                **config_payload(config),
            }
        )

    def delete(self, request):
        services.ai_config_delete(membership=api_membership(request), ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AIConfigTestView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]
    throttle_classes = CREDENTIAL_TEST_THROTTLES
    throttle_scope = "ai_key_test"

    def post(self, request):
        serializer = AIConfigInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            result = services.ai_config_test(membership=api_membership(request), **data)
        except services.ServiceError as exc:
            if exc.status != 400:
                raise
            return Response(
                failure_payload(data["provider"], exc), status=status.HTTP_400_BAD_REQUEST
            )
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
