"""JSON Web Tokens of the API (simplejwt), bound to the password they were issued under.

Each token carries `cred`: a keyed digest of the user's password hash at issue time. A
password change or reset changes the hash, so every access and refresh token issued before it
is refused from then on (401), like Django's own session hash logs other browser sessions out.
Nothing is stored per token, and nothing can be forgotten: whatever changes the password (the
API, the pages, a reset link, the admin, `changepassword`) ends the old tokens.

Logging in (`POST /api/auth/token`) also asks a user with two-factor authentication for a
`code`: a current code of their authenticator app or an unused recovery code."""

from django.contrib.auth import get_user_model, user_login_failed
from django.utils.crypto import constant_time_compare, salted_hmac
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer as SimpleTokenObtainPairSerializer,
)
from rest_framework_simplejwt.serializers import (
    TokenRefreshSerializer as SimpleTokenRefreshSerializer,
)
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from common.serializer_fields import StrictCharField
from organizations import selectors

CREDENTIALS_CLAIM = "cred"
MFA_REQUIRED_CODE = "mfa_required"
MFA_INVALID_CODE = "mfa_invalid"


def credentials_digest(user) -> str:
    """Changes whenever the password does; reveals nothing about it (HMAC with SECRET_KEY)."""
    return salted_hmac(
        "organizations.tokens.credentials", user.password or "", algorithm="sha256"
    ).hexdigest()[:32]


def credentials_current(user, token) -> bool:
    return constant_time_compare(str(token.get(CREDENTIALS_CLAIM) or ""), credentials_digest(user))


class AccountRefreshToken(RefreshToken):
    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)  # also records it as outstanding (the blacklist app)
        token[CREDENTIALS_CLAIM] = credentials_digest(user)
        # The outstanding record keeps the token as issued, claim included.
        OutstandingToken.objects.filter(jti=token[api_settings.JTI_CLAIM]).update(token=str(token))
        return token


def tokens_for_user(user) -> dict:
    """A new pair, as the login endpoint gives it."""
    refresh = AccountRefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class MfaRequired(exceptions.AuthenticationFailed):
    default_detail = "Enter the code of your authenticator app (or a recovery code) as `code`."
    default_code = MFA_REQUIRED_CODE


class MfaInvalid(exceptions.AuthenticationFailed):
    default_detail = "This code is not valid. Enter a current code or an unused recovery code."
    default_code = MFA_INVALID_CODE


def mfa_code_valid(user, code: str) -> bool:
    """Checks a TOTP code or a recovery code with allauth.mfa, which spends it (a recovery code
    works once, a TOTP code once in its period). Unlike the login page, nothing is written to a
    session: the API has none."""
    from allauth.mfa.base.forms import BaseAuthenticateForm

    form = BaseAuthenticateForm(user=user, data={"code": code})
    if not form.is_valid():
        return False
    form.authenticator.record_usage()
    return True


class TokenObtainSerializer(SimpleTokenObtainPairSerializer):
    token_class = AccountRefreshToken
    code = StrictCharField(max_length=64, required=False, write_only=True)

    def validate(self, attrs):
        code = attrs.pop("code", None)
        data = super().validate(attrs)  # checks the password (and the lockout)
        if selectors.mfa_enabled(self.user):
            if not code:
                raise MfaRequired()
            if not mfa_code_valid(self.user, code.strip()):
                # A wrong second factor counts as a failed login (the lockout applies).
                request = self.context.get("request")
                user_login_failed.send(
                    sender=__name__,
                    credentials={"email": self.user.email},
                    request=getattr(request, "_request", request),
                )
                raise MfaInvalid()
        return data


class TokenRefreshSerializer(SimpleTokenRefreshSerializer):
    token_class = AccountRefreshToken

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        user_id = refresh.payload.get(api_settings.USER_ID_CLAIM)
        user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
            raise InvalidToken("This refresh token is no longer valid.")
        if not credentials_current(user, refresh):
            raise InvalidToken("This refresh token was issued before a password change.")
        return super().validate(attrs)


class CurrentCredentialsJWTScheme(SimpleJWTScheme):
    """Documents the API's bearer authentication as simplejwt's."""

    target_class = "organizations.tokens.CurrentCredentialsJWTAuthentication"


class CurrentCredentialsJWTAuthentication(JWTAuthentication):
    """simplejwt's bearer authentication, refusing access tokens issued before the user's
    password last changed."""

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not credentials_current(user, validated_token):
            raise InvalidToken("This token was issued before a password change.")
        return user


class TokenObtainRequestSerializer(serializers.Serializer):
    """What `POST /api/auth/token` reads (documentation: simplejwt's serializer reads it)."""

    email = serializers.EmailField()
    password = serializers.CharField()
    code = serializers.CharField(
        required=False, help_text="Two-factor code, required when two-factor is enabled."
    )
