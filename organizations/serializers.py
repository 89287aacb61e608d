from rest_framework import serializers

from common.serializer_fields import StrictCharField, StrictChoiceField
from organizations.models import Membership, Role


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = StrictCharField(max_length=128, trim_whitespace=False, write_only=True)
    organization_name = StrictCharField(max_length=120, required=False)
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


class LogoutSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=2048)


class MemberRoleSerializer(serializers.Serializer):
    role = StrictChoiceField(choices=Role.choices)


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "joined_at"]


def organization_block(membership: Membership) -> dict:
    organization = membership.organization
    return {
        "id": organization.pk,
        "name": organization.name,
        "slug": organization.slug,
        "role": membership.role,
    }
