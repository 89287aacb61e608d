from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from common.serializer_fields import (
    ComputedField,
    StrictCharField,
    StrictChoiceField,
    django_validator,
)
from common.validators import validate_single_line
from organizations import selectors, services
from organizations.models import Invitation, Membership, Role


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = StrictCharField(max_length=128, trim_whitespace=False, write_only=True)
    organization_name = StrictCharField(
        max_length=120,
        required=False,
        validators=[django_validator(validate_single_line, label="The organization's name")],
    )
    invitation_token = StrictCharField(max_length=128, required=False)

    def validate_email(self, value):
        if not isinstance(self.initial_data.get("email"), str):
            raise serializers.ValidationError("Must be a string.")
        return value

    def validate(self, attrs):
        has_org = bool(attrs.get("organization_name"))
        has_token = bool(attrs.get("invitation_token"))
        if has_org == has_token:
            raise serializers.ValidationError(
                {"organization_name": ["Give either organization_name or invitation_token."]}
            )
        return attrs


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = StrictChoiceField(choices=[Role.ADMIN, Role.MEMBER])

    def validate_email(self, value):
        if not isinstance(self.initial_data.get("email"), str):
            raise serializers.ValidationError("Must be a string.")
        return value


class InvitationAcceptSerializer(serializers.Serializer):
    token = StrictCharField(max_length=128)


class EmailVerifySerializer(serializers.Serializer):
    key = StrictCharField(max_length=512, help_text="The last part of the emailed link.")


class PasswordChangeSerializer(serializers.Serializer):
    old_password = StrictCharField(max_length=128, trim_whitespace=False, write_only=True)
    new_password = StrictCharField(max_length=128, trim_whitespace=False, write_only=True)


class EmptySerializer(serializers.Serializer):
    """No input: an empty JSON object, or no body at all."""


# Documented as an object so that clients know they may send `{}`.
EMPTY_REQUEST = {"application/json": {"type": "object", "description": "No input: `{}`."}}


class LogoutSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=2048)


class MemberRoleSerializer(serializers.Serializer):
    role = StrictChoiceField(choices=Role.choices)


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "joined_at"]


# --- request shapes documented apart --------------------------------------------------------


class RegisterNewOrganizationSerializer(RegisterSerializer):
    """Create an account and a new organization, as its owner."""

    organization_name = StrictCharField(max_length=120)
    invitation_token = None


class RegisterByInvitationSerializer(RegisterSerializer):
    """Create an account by accepting an invitation sent to `email`."""

    organization_name = None
    invitation_token = StrictCharField(max_length=128)


# RegisterSerializer accepts exactly one of organization_name and invitation_token.
REGISTER_REQUEST = PolymorphicProxySerializer(
    component_name="Register",
    serializers=[RegisterNewOrganizationSerializer, RegisterByInvitationSerializer],
    resource_type_field_name=None,
)


# --- responses ------------------------------------------------------------------------------


class OrganizationBlockSerializer(serializers.Serializer):
    """An organization and the user's role in it."""

    # Renders a Membership.

    id = serializers.IntegerField(source="organization.pk")
    name = serializers.CharField(source="organization.name")
    slug = serializers.SlugField(
        source="organization.slug", help_text="Send it as the `X-Organization` header."
    )
    role = serializers.ChoiceField(choices=Role.choices)


class UserBlockSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    email = serializers.EmailField()
    email_verified = ComputedField(
        help_text="False until the link of the verification email is followed (true at once "
        "for an account created through an invitation sent to this address)."
    )

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_email_verified(self, user) -> bool:
        return selectors.email_verified(user)


class RegisteredSerializer(serializers.Serializer):
    """The new account, its organization and its tokens."""

    # Renders the new Membership; the context holds the refresh token.

    user = UserBlockSerializer()
    organization = OrganizationBlockSerializer(source="*")
    access = ComputedField(help_text="Access token (JWT): `Authorization: Bearer …`.")
    refresh = ComputedField(help_text="Refresh token for `/api/auth/token/refresh`.")

    @extend_schema_field(OpenApiTypes.STR)
    def get_access(self, membership) -> str:
        return str(self.context["refresh_token"].access_token)

    @extend_schema_field(OpenApiTypes.STR)
    def get_refresh(self, membership) -> str:
        return str(self.context["refresh_token"])


class MeResponseSerializer(UserBlockSerializer):
    """The current user and their organizations."""

    mfa_enabled = ComputedField(help_text="Two-factor sign-in is on.")
    organizations = ComputedField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_mfa_enabled(self, user) -> bool:
        return selectors.mfa_enabled(user)

    @extend_schema_field(OrganizationBlockSerializer(many=True))
    def get_organizations(self, user) -> list:
        memberships = selectors.memberships_for_user(user)
        return OrganizationBlockSerializer(memberships, many=True).data


class InvitationCreatedSerializer(serializers.Serializer):
    """The invitation just sent."""

    # Renders an Invitation; the context holds its one-time token (only its hash is stored).

    id = serializers.IntegerField(source="pk")
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=[Role.ADMIN, Role.MEMBER])
    token = ComputedField(help_text="Shown only once; also sent by email.")
    expires_at = serializers.DateTimeField()
    accept_url = ComputedField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_token(self, invitation) -> str:
        return self.context["token"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_accept_url(self, invitation) -> str:
        return services.invitation_accept_url(self.context["token"])


class InvitationSerializer(serializers.ModelSerializer):
    """A pending invitation, as owners and admins list it: never its token."""

    role = serializers.ChoiceField(choices=[Role.ADMIN, Role.MEMBER])
    invited_by = serializers.EmailField(
        source="invited_by.email", allow_null=True, default=None, help_text="Who sent it."
    )

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "invited_by", "created_at", "expires_at"]


class TokenPairSerializer(serializers.Serializer):
    """A new access and refresh token."""

    # Renders a refresh token (organizations/tokens.py).

    access = ComputedField(help_text="Access token (JWT): `Authorization: Bearer …`.")
    refresh = ComputedField(help_text="Refresh token for `/api/auth/token/refresh`.")

    @extend_schema_field(OpenApiTypes.STR)
    def get_access(self, refresh) -> str:
        return str(refresh.access_token)

    @extend_schema_field(OpenApiTypes.STR)
    def get_refresh(self, refresh) -> str:
        return str(refresh)


class EmailVerifiedSerializer(serializers.Serializer):
    """The address is verified."""

    # Renders the verified EmailAddress.

    email_verified = serializers.BooleanField(source="verified")


class InvitationAcceptedSerializer(serializers.Serializer):
    """The organization just joined."""

    organization = OrganizationBlockSerializer(source="*")


class PingSerializer(serializers.Serializer):
    ok = ComputedField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_ok(self, user) -> bool:
        return True
