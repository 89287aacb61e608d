from django import forms
from django.contrib.auth.forms import AuthenticationForm

from organizations.models import Role


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class RegisterForm(forms.Form):
    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label="Password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    organization_name = forms.CharField(
        label="Church or organization name", max_length=120, help_text="You will be its owner."
    )


class InvitedRegisterForm(forms.Form):
    """Registration through an invitation: the email is the invited one."""

    password = forms.CharField(
        label="Choose a password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class OrganizationForm(forms.Form):
    name = forms.CharField(label="Church or organization name", max_length=120)


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(label="Role", choices=[(Role.MEMBER, "Member"), (Role.ADMIN, "Admin")])


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


def apply_service_error(form: forms.Form, error) -> None:
    """Shows a ServiceError beside its field, or at the top of the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)
