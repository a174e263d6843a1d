from django.db import migrations


def create_default_rule(apps, schema_editor):
    CorrelationRule = apps.get_model("alerts", "CorrelationRule")
    CorrelationRule.objects.get_or_create(
        name="Same entity within 15 minutes",
        defaults={"key": "entity", "window_minutes": 15, "min_severity": "high", "min_confidence": 70,
                  "threshold_mode": "all", "priority": 1000},
    )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0002_initial")]
    operations = [migrations.RunPython(create_default_rule, migrations.RunPython.noop)]
