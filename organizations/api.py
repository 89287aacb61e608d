"""JSON API for accounts, organizations, invitations and members. Thin: services do the work."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from common.api_schema import ORGANIZATION_ERRORS, ORGANIZATION_PARAMETER, error_responses
from common.errors import ServiceError
from organizations import selectors, services, throttles
from organizations.lockout import locked_out_api_response
from organizations.permissions import (
    IsOrganizationManager,
    IsOrganizationMember,
)
from organizations.request_context import api_membership, client_ip
from organizations.serializers import (
    EMPTY_REQUEST,
    REGISTER_REQUEST,
    EmailVerifiedSerializer,
    EmailVerifySerializer,
    EmptySerializer,
    InvitationAcceptedSerializer,
    InvitationAcceptSerializer,
    InvitationCreatedSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    LogoutSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MeResponseSerializer,
    PasswordChangeSerializer,
    PingSerializer,
    RegisteredSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserBlockSerializer,
)
from organizations.tokens import AccountRefreshToken

NO_CONTENT = OpenApiResponse(description="Done.")
MEMBER_NOT_FOUND = "Member not found."


class RegisterView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["auth"],
        summary="Create an account",
        description=(
            "Creates a user with a new organization (as its owner, with `organization_name`) "
            "or joins one through an invitation (`invitation_token`), and returns tokens."
        ),
        request=REGISTER_REQUEST,
        responses={
            201: RegisteredSerializer,
            **error_responses(
                400,
                429,
                d400="The input is not valid, the email is taken, the password is too weak, "
                "or the invitation is not valid.",
                d429="Too many sign-ups from this address (SIGNUP_RATE).",
            ),
        },
    )
    def post(self, request):
        # Counted before anything is checked: the limit bounds what sign-up can reveal.
        throttles.signup_check(request)
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, membership = services.user_register(
            **serializer.validated_data, ip=client_ip(request)
        )
        context = {"refresh_token": AccountRefreshToken.for_user(user)}
        return Response(
            RegisteredSerializer(membership, context=context).data, status=status.HTTP_201_CREATED
        )


class EmailVerifyView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["auth"],
        summary="Verify the email address with the key from the verification email",
        description="The key is the last part of the link in the verification email "
        "(`…/accounts/confirm-email/<key>/`).",
        request=EmailVerifySerializer,
        responses={
            200: EmailVerifiedSerializer,
            **error_responses(400, d400="The key is not valid, has expired or was used."),
        },
    )
    def post(self, request):
        serializer = EmailVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.email_verify(key=serializer.validated_data["key"], ip=client_ip(request))
        return Response(EmailVerifiedSerializer(address).data)


class EmailVerifyResendView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Send the verification email again",
        description="Nothing is sent when the address is already verified, or when a "
        "verification email went out in the last few minutes (the earlier link still works).",
        request=EMPTY_REQUEST,
        responses={202: UserBlockSerializer, **error_responses(400, 401)},
    )
    def post(self, request):
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        services.email_verification_resend(user=request.user)
        return Response(UserBlockSerializer(request.user).data, status=status.HTTP_202_ACCEPTED)


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Change the password",
        description="Every access and refresh token issued before the change stops working, "
        "and the user's browser sessions are logged out; the response carries a new pair.",
        request=PasswordChangeSerializer,
        responses={
            200: TokenPairSerializer,
            **error_responses(
                400,
                401,
                429,
                d400="The current password is wrong or the new one is too weak.",
                d429="`locked_out`: a wrong current password counts as a failed login; after "
                "`AXES_FAILURE_LIMIT` of them this email is refused from this address for a "
                "while, even with the right password.",
            ),
        },
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = services.password_change(
                user=request.user,
                **serializer.validated_data,
                request=request,
                ip=client_ip(request),
            )
        except services.PasswordChangeLockedOut:
            return locked_out_api_response()  # the same answer as the token endpoint's
        return Response(TokenPairSerializer(AccountRefreshToken.for_user(user)).data)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Log out (revoke a refresh token)",
        request=LogoutSerializer,
        responses={
            205: OpenApiResponse(description="Logged out: the refresh token is revoked."),
            **error_responses(
                400, 401, d400="The refresh token is not valid or belongs to someone else."
            ),
        },
    )
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = RefreshToken(serializer.validated_data["refresh"])
            if str(token.get("user_id")) != str(request.user.pk):
                raise TokenError("not yours")
            token.blacklist()
        except TokenError:
            raise ServiceError(
                "This refresh token is not valid.", field="refresh", code="token_not_valid"
            ) from None
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["account"],
        summary="The current user and their organizations",
        responses={200: MeResponseSerializer, **error_responses(401)},
    )
    def get(self, request):
        return Response(MeResponseSerializer(request.user).data)


class InvitationsView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]

    @extend_schema(
        tags=["organization"],
        summary="Pending invitations (owners and admins)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={200: InvitationSerializer(many=True), **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request):
        invitations = selectors.organization_pending_invitations(membership=api_membership(request))
        return Response(InvitationSerializer(invitations, many=True).data)

    @extend_schema(
        tags=["organization"],
        summary="Invite someone by email (owners and admins with a verified email)",
        parameters=[ORGANIZATION_PARAMETER],
        request=InvitationCreateSerializer,
        responses={
            201: InvitationCreatedSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                429,
                d403="Only owners and admins invite (`permission_denied`), and only once "
                "their email address is verified (`email_not_verified`).",
                d429="Too many invitations from this organization or this sender "
                "(INVITATION_RATE).",
            ),
        },
    )
    def post(self, request):
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, token = services.invitation_create(
            actor=api_membership(request), ip=client_ip(request), **serializer.validated_data
        )
        return Response(
            InvitationCreatedSerializer(invitation, context={"token": token}).data,
            status=status.HTTP_201_CREATED,
        )


INVITATION_NOT_FOUND = (
    "No pending invitation with this id in this organization, or `X-Organization` names no "
    "organization the user belongs to."
)


class InvitationDetailView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]

    @extend_schema(
        tags=["organization"],
        summary="Withdraw a pending invitation (its link stops working)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={
            204: NO_CONTENT,
            **error_responses(*ORGANIZATION_ERRORS, d404=INVITATION_NOT_FOUND),
        },
    )
    def delete(self, request, invitation_id):
        services.invitation_revoke(
            actor=api_membership(request), invitation_id=invitation_id, ip=client_ip(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationResendView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationManager]

    @extend_schema(
        tags=["organization"],
        summary="Send a pending invitation again, with a new link (the old one stops working)",
        parameters=[ORGANIZATION_PARAMETER],
        request=EMPTY_REQUEST,
        responses={
            202: InvitationCreatedSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                429,
                d403="Only owners and admins with a verified email address.",
                d404=INVITATION_NOT_FOUND,
                d429="Too many invitations from this organization or this sender "
                "(INVITATION_RATE).",
            ),
        },
    )
    def post(self, request, invitation_id):
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        invitation, token = services.invitation_resend(
            actor=api_membership(request), invitation_id=invitation_id, ip=client_ip(request)
        )
        return Response(
            InvitationCreatedSerializer(invitation, context={"token": token}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class InvitationAcceptView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["organization"],
        summary="Accept an invitation sent to the current user's email",
        request=InvitationAcceptSerializer,
        responses={
            200: InvitationAcceptedSerializer,
            **error_responses(
                400,
                401,
                d400="The token is not valid, used, expired or sent to another email address, "
                "or the user is already a member.",
            ),
        },
    )
    def post(self, request):
        serializer = InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.invitation_accept(
            token=serializer.validated_data["token"], user=request.user, ip=client_ip(request)
        )
        return Response(InvitationAcceptedSerializer(membership).data)


class MemberListView(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    @extend_schema(
        tags=["organization"],
        summary="The organization's members",
        parameters=[ORGANIZATION_PARAMETER],
        responses={200: MemberSerializer(many=True), **error_responses(*ORGANIZATION_ERRORS)},
    )
    def get(self, request):
        members = selectors.organization_members(membership=api_membership(request))
        return Response(MemberSerializer(members, many=True).data)


class MemberDetailView(APIView):
    # Members may DELETE their own membership (leave); the service enforces the rest.
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    def _target(self, request, member_id):
        target = selectors.organization_member(
            membership=api_membership(request), member_id=member_id
        )
        if target is None:
            raise NotFound(MEMBER_NOT_FOUND)
        return target

    @extend_schema(
        tags=["organization"],
        summary="Change a member's role (owners and admins)",
        parameters=[ORGANIZATION_PARAMETER],
        request=MemberRoleSerializer,
        responses={
            200: MemberSerializer,
            **error_responses(
                *ORGANIZATION_ERRORS,
                d400="Not a valid role, the last owner cannot step down, or several "
                "organizations and no `X-Organization` header.",
                d404="No such member in this organization, or `X-Organization` names no "
                "organization the user belongs to.",
            ),
        },
    )
    def patch(self, request, member_id):
        # Who may change which role is the service's rule (members get 403 from it).
        actor = api_membership(request)
        target = self._target(request, member_id)
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            actor=actor,
            membership=target,
            role=serializer.validated_data["role"],
            ip=client_ip(request),
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(
        tags=["organization"],
        summary="Remove a member, or leave (a member's own id)",
        parameters=[ORGANIZATION_PARAMETER],
        responses={
            204: NO_CONTENT,
            **error_responses(
                *ORGANIZATION_ERRORS,
                d400="The last owner cannot leave, or several organizations and no "
                "`X-Organization` header.",
                d404="No such member in this organization, or `X-Organization` names no "
                "organization the user belongs to.",
            ),
        },
    )
    def delete(self, request, member_id):
        target = self._target(request, member_id)
        services.membership_remove(
            actor=api_membership(request), membership=target, ip=client_ip(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PingView(APIView):
    """The cheapest authenticated endpoint: the baseline the load benchmark compares with."""

    permission_classes = [IsAuthenticated]
    serializer_class = PingSerializer

    @extend_schema(
        tags=["account"],
        summary="Cheapest authenticated request (load benchmark baseline)",
        responses={200: PingSerializer, **error_responses(401)},
    )
    def get(self, request):
        return Response(PingSerializer(request.user).data)
