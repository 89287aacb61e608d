from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib import messages
from django.shortcuts import redirect

from common.errors import ServiceError
from common.validators import validate_single_line
from organizations import services
from organizations.models import Role
from organizations.request_context import client_ip


def _single_line_name(value: str) -> None:
    validate_single_line(value, label="The name")


class SignupForm(AllauthSignupForm):
    """allauth's sign-up (email, password) plus the organization the new user will own; the
    account and the organization are created by the same service as the API's."""

    organization_name = forms.CharField(
        label="Church or organization name",
        max_length=120,
        help_text="You will be its owner.",
        validators=[_single_line_name],
    )

    def signup(self, request, user):  # allauth's hook; save() below does the work
        pass

    def try_save(self, request):
        try:
            return super().try_save(request)
        except ServiceError as exc:  # e.g. the same email registered a moment ago
            messages.error(request, exc.message)
            return None, redirect(request.get_full_path())

    def save(self, request):
        user, _ = services.user_register(
            email=self.cleaned_data["email"],
            password=self.cleaned_data["password1"],
            organization_name=self.cleaned_data["organization_name"],
            ip=client_ip(request),
            send_verification=False,  # allauth's sign-up flow sends it
        )
        return user


class InvitedRegisterForm(forms.Form):
    """Registration through an invitation: the email is the invited one."""

    password = forms.CharField(
        label="Choose a password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class OrganizationForm(forms.Form):
    name = forms.CharField(
        label="Church or organization name", max_length=120, validators=[_single_line_name]
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(label="Role", choices=[(Role.MEMBER, "Member"), (Role.ADMIN, "Admin")])


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


def apply_service_error(form: forms.Form, error) -> None:
    """Shows a ServiceError beside its field, or at the top of the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)
