"""Every existing account gets allauth's record of its email address, unverified: its owner
verifies it (or resets the password by email) before inviting anyone."""

from django.db import migrations


def create_addresses(apps, schema_editor):
    User = apps.get_model("organizations", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    have = set(EmailAddress.objects.values_list("user_id", flat=True))
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(user_id=user.pk, email=user.email, primary=True, verified=False)
            for user in User.objects.exclude(pk__in=have).only("pk", "email")
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(create_addresses, migrations.RunPython.noop)]
