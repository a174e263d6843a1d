"""User API tokens stored hashed with an expiry. DRF's authtoken rows (plain-text keys) become
ApiToken rows holding the keys' SHA-256 (so existing tokens keep working, for
SOAR_API_TOKEN_TTL_DAYS from now) and are deleted."""

import datetime
import hashlib

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def hash_existing_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("cases", "ApiToken")
    now = django.utils.timezone.now()
    expires_at = now + datetime.timedelta(days=settings.SOAR_API_TOKEN_TTL_DAYS)
    for token in Token.objects.all().iterator():
        ApiToken.objects.update_or_create(user_id=token.user_id, defaults={
            "digest": hashlib.sha256(token.key.encode()).hexdigest(), "prefix": token.key[:6],
            "created_at": token.created or now, "expires_at": expires_at})
    Token.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0009_audit_log_append_only'),
        ('authtoken', '0004_alter_tokenproxy_options'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(help_text='SHA-256 of the key (hex).', max_length=64, unique=True)),
                ('prefix', models.CharField(help_text='First characters of the key, to recognise it.', max_length=8)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField()),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='api_token',
                                              to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
            },
        ),
        # Not reversible in substance: the keys are gone; going back leaves no token.
        migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop),
    ]
