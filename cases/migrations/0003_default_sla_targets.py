from django.db import migrations

DEFAULTS = {
    "critical": (15, 4 * 60),
    "high": (60, 8 * 60),
    "medium": (4 * 60, 24 * 60),
    "low": (8 * 60, 72 * 60),
    "info": (24 * 60, 7 * 24 * 60),
}


def create_sla_targets(apps, schema_editor):
    SlaTarget = apps.get_model("cases", "SlaTarget")
    for severity, (ack, resolve) in DEFAULTS.items():
        SlaTarget.objects.get_or_create(severity=severity, defaults={"ack_minutes": ack, "resolve_minutes": resolve})


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_notes_sla_shares")]
    operations = [migrations.RunPython(create_sla_targets, migrations.RunPython.noop)]
