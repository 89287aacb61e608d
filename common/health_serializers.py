"""The `health` object of the settings API's answers (common/credential_health.py)."""

from rest_framework import serializers

from common.credential_health import HealthStatus


class CredentialHealthSerializer(serializers.Serializer):
    """What the background checks, tests, saves, drafts and sends found out about the stored
    credential. `unknown`: not checked yet; `failing`: a transient error or a first refusal;
    `needs_attention`: owners and admins were emailed, and every page shows it until fixed."""

    status = serializers.ChoiceField(choices=HealthStatus.values)
    last_checked_at = serializers.DateTimeField(allow_null=True)
    error_code = serializers.CharField(
        allow_null=True, help_text="Why it is failing or needs attention; null otherwise."
    )
    message = serializers.CharField(
        allow_null=True, help_text="What to do about it, for the person; null when ok."
    )
