"""OpenAPI shapes of the accounts and organizations API responses (documentation only: the
views build these bodies themselves)."""

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from common.serializer_fields import StrictCharField
from organizations.models import Role
from organizations.serializers import RegisterSerializer


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


class OrganizationBlockSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField(help_text="Send it as the `X-Organization` header.")
    role = serializers.ChoiceField(choices=Role.choices)


class UserBlockSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class RegisteredSerializer(serializers.Serializer):
    user = UserBlockSerializer()
    organization = OrganizationBlockSerializer()
    access = serializers.CharField(help_text="Access token (JWT): `Authorization: Bearer …`.")
    refresh = serializers.CharField(help_text="Refresh token for `/api/auth/token/refresh`.")


class MeResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    organizations = OrganizationBlockSerializer(many=True)


class InvitationCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=[Role.ADMIN, Role.MEMBER])
    token = serializers.CharField(help_text="Shown only once; also sent by email.")
    expires_at = serializers.DateTimeField()
    accept_url = serializers.URLField()


class InvitationAcceptedSerializer(serializers.Serializer):
    organization = OrganizationBlockSerializer()


RESET_CONTENT = OpenApiResponse(description="Logged out: the refresh token is revoked.")
NO_CONTENT = OpenApiResponse(description="Done.")
