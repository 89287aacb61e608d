from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework_simplejwt.views import TokenRefreshView

from common.api_schema import error_responses
from organizations import api
from organizations.lockout import TokenObtainView
from organizations.serializers import TokenPairSerializer
from organizations.tokens import TokenObtainRequestSerializer

# simplejwt's views, documented with this API's error responses.
token_obtain_view = extend_schema_view(
    post=extend_schema(
        tags=["auth"],
        summary="Log in: exchange email and password (and two-factor code) for tokens",
        description="A user with two-factor sign-in gets 401 `mfa_required` without `code`, "
        "and 401 `mfa_invalid` with a wrong one (which counts as a failed login).",
        request=TokenObtainRequestSerializer,
        responses={
            200: TokenPairSerializer,
            **error_responses(
                400,
                401,
                429,
                d400="Email or password missing.",
                d401="No active account with this email and password (`no_active_account`), "
                "or the two-factor code is missing (`mfa_required`) or wrong (`mfa_invalid`).",
                d429="Too many failed logins (`locked_out`), or too many logins from this "
                "address (`throttled`, LOGIN_RATE): wait before trying again.",
            ),
        },
    )
)(TokenObtainView)  # simplejwt's, answering a lockout with 429 locked_out
token_refresh_view = extend_schema_view(
    post=extend_schema(
        tags=["auth"],
        summary="Exchange a refresh token for a new access and refresh token",
        responses={
            200: TokenPairSerializer,
            **error_responses(
                400,
                401,
                d400="The refresh token is missing.",
                d401="The refresh token is invalid, expired, revoked, or was issued before the "
                "password last changed.",
            ),
        },
    )
)(TokenRefreshView)

urlpatterns = [
    path("auth/register", api.RegisterView.as_view(), name="api-register"),
    path("auth/token", token_obtain_view.as_view(), name="api-token"),
    path("auth/token/refresh", token_refresh_view.as_view(), name="api-token-refresh"),
    path("auth/logout", api.LogoutView.as_view(), name="api-logout"),
    path("auth/email/verify", api.EmailVerifyView.as_view(), name="api-email-verify"),
    path(
        "auth/email/verify/resend",
        api.EmailVerifyResendView.as_view(),
        name="api-email-verify-resend",
    ),
    path("auth/password/change", api.PasswordChangeView.as_view(), name="api-password-change"),
    path("me", api.MeView.as_view(), name="api-me"),
    path("organization/invitations", api.InvitationsView.as_view(), name="api-invitations"),
    path(
        "organization/invitations/accept",
        api.InvitationAcceptView.as_view(),
        name="api-invitation-accept",
    ),
    path(
        "organization/invitations/<str:invitation_id>",
        api.InvitationDetailView.as_view(),
        name="api-invitation",
    ),
    path(
        "organization/invitations/<str:invitation_id>/resend",
        api.InvitationResendView.as_view(),
        name="api-invitation-resend",
    ),
    path("organization/members", api.MemberListView.as_view(), name="api-members"),
    path("organization/members/<str:member_id>", api.MemberDetailView.as_view(), name="api-member"),
    path("ping", api.PingView.as_view(), name="api-ping"),
]
