"""JSON API for accounts, organizations, invitations and members. Thin: services do the work."""

from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from organizations import selectors, services
from organizations.api_errors import error_response
from organizations.permissions import (
    IsManagerOrReadOnly,
    IsOrganizationManager,
    IsOrganizationMember,
)
from organizations.request_context import api_membership, client_ip
from organizations.serializers import (
    InvitationAcceptSerializer,
    InvitationCreateSerializer,
    LogoutSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    RegisterSerializer,
    organization_block,
)


def _tokens_for(user) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class RegisterView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, membership = services.user_register(
            **serializer.validated_data, ip=client_ip(request)
        )
        return Response(
            {
                "user": {"id": user.pk, "email": user.email},
                "organization": organization_block(membership),
                **_tokens_for(user),
            },
            status=status.HTTP_201_CREATED,
        )


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = RefreshToken(serializer.validated_data["refresh"])
            if str(token.get("user_id")) != str(request.user.pk):
                raise TokenError("not yours")
            token.blacklist()
        except TokenError:
            return error_response(
                "This refresh token is not valid.",
                status_code=status.HTTP_400_BAD_REQUEST,
                code="token_not_valid",
                fields={"refresh": ["This refresh token is not valid."]},
            )
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        user = request.user
        return Response(
            {
                "id": user.pk,
                "email": user.email,
                "organizations": [
                    organization_block(m) for m in selectors.memberships_for_user(user)
                ],
            }
        )


class InvitationCreateView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]

    def post(self, request):
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, token = services.invitation_create(
            actor=api_membership(request), ip=client_ip(request), **serializer.validated_data
        )
        return Response(
            {
                "id": invitation.pk,
                "email": invitation.email,
                "role": invitation.role,
                "token": token,
                "expires_at": invitation.expires_at,
                "accept_url": services.invitation_accept_url(token),
            },
            status=status.HTTP_201_CREATED,
        )


class InvitationAcceptView(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        serializer = InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.invitation_accept(
            token=serializer.validated_data["token"], user=request.user, ip=client_ip(request)
        )
        return Response({"organization": organization_block(membership)})


class MemberListView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    def get(self, request):
        members = selectors.organization_members(membership=api_membership(request))
        return Response(MemberSerializer(members, many=True).data)


class MemberDetailView(APIView):
    # Members may DELETE their own membership (leave); the service enforces the rest.
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    def _target(self, request, member_id):
        return selectors.organization_member(
            membership=api_membership(request), member_id=member_id
        )

    def patch(self, request, member_id):
        actor = api_membership(request)
        if not IsManagerOrReadOnly().has_permission(request, self):
            return error_response(
                IsManagerOrReadOnly.message, status_code=403, code="permission_denied"
            )
        target = self._target(request, member_id)
        if target is None:
            return error_response("Member not found.", status_code=404, code="not_found")
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            actor=actor,
            membership=target,
            role=serializer.validated_data["role"],
            ip=client_ip(request),
        )
        return Response(MemberSerializer(membership).data)

    def delete(self, request, member_id):
        target = self._target(request, member_id)
        if target is None:
            return error_response("Member not found.", status_code=404, code="not_found")
        services.membership_remove(
            actor=api_membership(request), membership=target, ip=client_ip(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
