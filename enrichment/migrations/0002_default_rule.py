from django.db import migrations


def create_default_rule(apps, schema_editor):
    EnrichmentRule = apps.get_model("enrichment", "EnrichmentRule")
    EnrichmentRule.objects.get_or_create(
        name="Known-malicious IP raises to high",
        defaults={"verdict": "malicious", "observable_type": "ip", "raise_severity_to": "high"},
    )


class Migration(migrations.Migration):
    dependencies = [("enrichment", "0001_initial")]
    operations = [migrations.RunPython(create_default_rule, migrations.RunPython.noop)]
