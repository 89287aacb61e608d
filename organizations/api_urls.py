from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from organizations import api

urlpatterns = [
    path("auth/register", api.RegisterView.as_view(), name="api-register"),
    path("auth/token", TokenObtainPairView.as_view(), name="api-token"),
    path("auth/token/refresh", TokenRefreshView.as_view(), name="api-token-refresh"),
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
]
