"""The settings API: for each credential declaration (settings_page/sections.py), one endpoint
to read, test-then-save and remove the settings, and one to test without saving. The same
mechanics as the Settings page; the declared services and serializers do the work."""

from typing import NamedTuple

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_errors import service_error_response
from common.api_schema import ORGANIZATION_ERRORS, ORGANIZATION_PARAMETER, error_responses
from common.credentials import CredentialSettings
from common.errors import ServiceError
from organizations.permissions import IsManagerOrReadOnly, IsOrganizationManager
from organizations.request_context import MEMBERSHIP_RELATED, api_membership, client_ip
from organizations.throttles import CredentialTestThrottle
from settings_page import health
from settings_page.sections import SECTIONS


# What both endpoints share: the declaration, its input and its throttle (which counts only
# the requests that reach the provider: POST and PUT). No docstring: it would become every
# operation's description in the OpenAPI schema.
class CredentialAPIView(APIView):
    declaration: CredentialSettings
    throttle_classes = [CredentialTestThrottle]

    @property
    def throttle_scope(self) -> str:
        return self.declaration.throttle_scope

    def validated_input(self, request) -> dict:
        serializer = self.declaration.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def refused(self, exc: ServiceError, data: dict) -> Response:
        """A refused request: the error body, with `success: false` and the bound inputs, as
        the declaration's failure serializer (the one documented for it) renders it."""
        bound = {name: data[name] for name in self.declaration.bound_fields}
        serializer = self.declaration.failure_serializer
        return service_error_response(exc, serializer=serializer, success=False, **bound)


class CredentialSettingsView(CredentialAPIView):
    permission_classes = [IsAuthenticated, IsManagerOrReadOnly]

    def initial(self, request, *args, **kwargs):
        relation = self.declaration.organization_relation
        if request.method == "GET" and relation:
            # The membership and the stored settings in one query (writes read them afresh).
            setattr(request, MEMBERSHIP_RELATED, (f"organization__{relation}",))
        super().initial(request, *args, **kwargs)

    def get(self, request):
        membership = api_membership(request)
        config = self.declaration.config_for(membership.organization)
        context = {"can_manage": membership.can_manage}
        return Response(self.declaration.settings_serializer(config, context=context).data)

    def put(self, request):
        data = self.validated_input(request)
        try:
            config = self.declaration.save(
                membership=api_membership(request), ip=client_ip(request), **data
            )
        except ServiceError as exc:
            return self.refused(exc, data)
        context = {"can_manage": True, "message": self.declaration.saved_message}
        return Response(self.declaration.saved_serializer(config, context=context).data)

    def delete(self, request):
        self.declaration.remove(membership=api_membership(request), ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CredentialTestView(CredentialAPIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]

    def post(self, request):
        declaration = self.declaration
        data = self.validated_input(request)
        try:
            result = declaration.test(membership=api_membership(request), **data)
        except ServiceError as exc:
            if declaration.refusal is not None and isinstance(exc, declaration.refusal):
                # The provider's verdict on the credentials is the answer, not a bad request.
                return Response(declaration.test_failed_serializer(exc).data)
            return self.refused(exc, data)
        if declaration.test_passed(result):
            return Response(declaration.test_passed_serializer(result).data)
        return Response(declaration.test_failed_serializer(result).data)


class HealthCheckAnswerSerializer(serializers.Serializer):
    """The checks were queued; their results appear in the `health` fields of
    `GET /api/settings/ai-config` and `GET /api/settings/whatsapp-meta` when the task
    consumer has run them (seconds, usually)."""

    queued = serializers.ListField(
        child=serializers.ChoiceField(choices=["ai", "whatsapp"]),
        help_text="What was queued: the stored credentials (none when nothing is stored).",
    )
    message = serializers.CharField()


class HealthCheckView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]

    @extend_schema(
        tags=["settings-health"],
        summary="Check the stored AI key and WhatsApp connection now (owners, admins)",
        description=(
            "202: both checks are queued now. Poll the settings endpoints: their `health` "
            "object shows the result (`last_checked_at` moves on) when the checks have run. "
            "Counted like a credential test (429 when used too often)."
        ),
        parameters=[ORGANIZATION_PARAMETER],
        # No input: an empty JSON object, or no body at all.
        request={"application/json": OpenApiTypes.OBJECT},
        responses={202: HealthCheckAnswerSerializer, **error_responses(*ORGANIZATION_ERRORS, 429)},
    )
    def post(self, request):
        request.data  # noqa: B018 -- no body is needed, but one that cannot be parsed is a 400
        queued = health.health_check_request(
            membership=api_membership(request), ip=client_ip(request)
        )
        answer = {
            "queued": queued,
            "message": "The checks are queued; their results appear in the health fields."
            if queued
            else "There is nothing to check yet.",
        }
        return Response(HealthCheckAnswerSerializer(answer).data, status=status.HTTP_202_ACCEPTED)


class CredentialViews(NamedTuple):
    settings: type[CredentialSettingsView]
    test: type[CredentialTestView]


def credential_views(declaration: CredentialSettings) -> CredentialViews:
    """The two API views of one declaration, documented with its serializers."""
    d = declaration
    secret = f"`{d.primary_secret}`"
    common = {"tags": [d.api_tag], "parameters": [ORGANIZATION_PARAMETER]}
    test_result = PolymorphicProxySerializer(
        component_name=d.test_passed_serializer.__name__.removesuffix("PassedSerializer")
        + "Result",
        serializers=[d.test_passed_serializer, d.test_failed_serializer],
        resource_type_field_name=None,
    )
    name = d.settings_serializer.__name__.removesuffix("ResponseSerializer")
    settings_view = extend_schema_view(
        get=extend_schema(
            summary=f"The organization's {d.noun}, the {d.secret_noun} masked (any member)",
            responses={200: d.settings_serializer, **error_responses(*ORGANIZATION_ERRORS)},
            **common,
        ),
        put=extend_schema(
            summary=(
                f"Test the {d.noun} live with {d.checked_by} and save it when accepted "
                "(owners, admins)"
            ),
            description=(
                f"Omit {secret} (or send null or an empty string) to keep the stored "
                f"{d.secret_noun}. Nothing is saved unless {d.checked_by} accepts the credentials."
            ),
            request=d.input_serializer,
            responses={
                200: d.saved_serializer,
                400: d.failure_serializer,
                **error_responses(401, 403, 404, 429),
            },
            **common,
        ),
        delete=extend_schema(
            summary=f"Remove the {d.noun} and the stored {d.secret_noun} (owners, admins)",
            responses={204: None, **error_responses(*ORGANIZATION_ERRORS)},
            **common,
        ),
    )(type(f"{name}View", (CredentialSettingsView,), {"declaration": d}))
    test_view = extend_schema_view(
        post=extend_schema(
            summary=(
                f"Test the {d.noun} live with {d.checked_by} without saving it (owners, admins)"
            ),
            description=(
                f"200 with `success: true` when {d.checked_by} accepted the credentials, or "
                "`success: false` and a classified `error_code` when it refused them. Omit "
                f"{secret} to test the stored {d.secret_noun}."
            ),
            request=d.input_serializer,
            responses={
                200: test_result,
                400: d.failure_serializer,
                **error_responses(401, 403, 404, 429),
            },
            **common,
        ),
    )(type(f"{name}TestView", (CredentialTestView,), {"declaration": d}))
    return CredentialViews(settings=settings_view, test=test_view)


API_VIEWS: dict[str, CredentialViews] = {d.slug: credential_views(d) for d in SECTIONS}
