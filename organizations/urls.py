from allauth.account import views as account_views
from allauth.mfa.base import views as mfa_views
from django.urls import include, path

from organizations import throttles, views
from organizations.views import rate_limited

# Account pages are allauth's, with this project's limits in front of the ones that take a
# password or send an email: LOGIN_RATE, SIGNUP_RATE, PASSWORD_RESET_RATE.
login_page = rate_limited(account_views.login, throttles.login_check)
signup_page = rate_limited(account_views.signup, throttles.signup_check)
password_reset_page = rate_limited(
    account_views.password_reset,
    lambda request: throttles.password_reset_check(request, request.POST.get("email")),
)
mfa_authenticate_page = rate_limited(mfa_views.authenticate, throttles.login_check)

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", login_page, name="account_login"),
    path("accounts/signup/", signup_page, name="account_signup"),
    path("accounts/register/", signup_page, name="register"),
    path("accounts/password/reset/", password_reset_page, name="account_reset_password"),
    path("accounts/2fa/authenticate/", mfa_authenticate_page, name="mfa_authenticate"),
    path("accounts/verify-email/resend/", views.verification_resend, name="verification-resend"),
    path("accounts/", include("allauth.urls")),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("organization/new/", views.organization_new, name="organization-new"),
    path("organization/switch/", views.organization_switch, name="organization-switch"),
    path("organization/members/", views.members, name="members"),
    path(
        "organization/members/<str:member_id>/role/",
        views.member_change_role,
        name="member-role",
    ),
    path(
        "organization/members/<str:member_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path(
        "organization/invitations/<str:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path(
        "organization/invitations/<str:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation-resend",
    ),
    path("organization/activity/", views.activity, name="activity"),
]
