# MessageRecord moved here from the whatsapp app: the table, its rows and its indexes stay as
# they are; only Django's record of which app owns the model changes.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('organizations', '0001_initial'),
        ('whatsapp', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='MessageRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('kind', models.CharField(choices=[('draft', 'AI draft'), ('send', 'WhatsApp send')], max_length=10)),
                        ('ok', models.BooleanField()),
                        ('error_code', models.CharField(blank=True, max_length=40)),
                        ('provider', models.CharField(blank=True, max_length=20)),
                        ('model', models.CharField(blank=True, max_length=200)),
                        ('input_tokens', models.PositiveIntegerField(blank=True, null=True)),
                        ('output_tokens', models.PositiveIntegerField(blank=True, null=True)),
                        ('phone_number_id', models.CharField(blank=True, max_length=20)),
                        ('to', models.CharField(blank=True, max_length=20)),
                        ('text', models.TextField(blank=True)),
                        ('message_id', models.CharField(blank=True, max_length=200)),
                        ('status', models.CharField(blank=True, choices=[('accepted', 'Accepted by WhatsApp'), ('sent', 'Sent'), ('delivered', 'Delivered'), ('read', 'Read'), ('failed', 'Failed'), ('rejected', 'Not sent')], max_length=20)),
                        ('status_error_code', models.IntegerField(blank=True, null=True)),
                        ('status_updated_at', models.DateTimeField(blank=True, null=True)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='organizations.organization')),
                        ('user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'whatsapp_messagerecord',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['organization', 'kind', '-created_at'], name='whatsapp_me_organiz_280b5b_idx'), models.Index(fields=['organization', 'message_id'], name='whatsapp_me_organiz_f45890_idx')],
                    },
                ),
            ],
        ),
    ]
