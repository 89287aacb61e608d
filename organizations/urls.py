from django.contrib.auth import views as auth_views
from django.urls import path

from organizations import lockout, views
from organizations.forms import EmailAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=EmailAuthenticationForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/register/", views.register, name="register"),
    path("accounts/password_reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        lockout.PasswordResetConfirmView.as_view(),  # also lifts a login lockout
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
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
    path("organization/activity/", views.activity, name="activity"),
]
