from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenRefreshView

from common.api_schema import error_responses
from organizations import api
from organizations.lockout import TokenObtainView

# simplejwt's views, documented with this API's error responses.
token_obtain_view = extend_schema_view(
    post=extend_schema(
        tags=["auth"],
        summary="Log in: exchange email and password for tokens",
        responses={
            200: TokenObtainPairSerializer,
            **error_responses(
                400,
                401,
                429,
                d400="Email or password missing.",
                d401="No active account with this email and password.",
                d429="Too many failed logins: wait before trying again.",
            ),
        },
    )
)(TokenObtainView)  # simplejwt's, answering a lockout with 429 locked_out
token_refresh_view = extend_schema_view(
    post=extend_schema(
        tags=["auth"],
        summary="Exchange a refresh token for a new access and refresh token",
        responses={
            200: TokenRefreshSerializer,
            **error_responses(
                400,
                401,
                d400="The refresh token is missing.",
                d401="The refresh token is invalid, expired or revoked.",
            ),
        },
    )
)(TokenRefreshView)

urlpatterns = [
    path("auth/register", api.RegisterView.as_view(), name="api-register"),
    path("auth/token", token_obtain_view.as_view(), name="api-token"),
    path("auth/token/refresh", token_refresh_view.as_view(), name="api-token-refresh"),
    path("auth/logout", api.LogoutView.as_view(), name="api-logout"),
    path("me", api.MeView.as_view(), name="api-me"),
    path("organization/invitations", api.InvitationCreateView.as_view(), name="api-invitations"),
    path(
        "organization/invitations/accept",
        api.InvitationAcceptView.as_view(),
        name="api-invitation-accept",
    ),
    path("organization/members", api.MemberListView.as_view(), name="api-members"),
    path("organization/members/<str:member_id>", api.MemberDetailView.as_view(), name="api-member"),
    path("ping", api.PingView.as_view(), name="api-ping"),
]
