# The alert rollup models, moved here from the cases app with their tables (cases/0011): this
# migration creates nothing in the database. It also renames the report tasks of beat's schedule,
# which moved with the app (cases.reporting.tasks.* -> reporting.tasks.*).

from django.db import migrations, models

RENAMED_TASKS = {
    'cases.reporting.tasks.fold_report_rollups': 'reporting.tasks.fold_report_rollups',
    'cases.reporting.tasks.send_scheduled_report': 'reporting.tasks.send_scheduled_report',
}


def rename_scheduled_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model('django_celery_beat', 'PeriodicTask')
    for old, new in RENAMED_TASKS.items():
        PeriodicTask.objects.filter(task=old).update(task=new)


def restore_scheduled_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model('django_celery_beat', 'PeriodicTask')
    for old, new in RENAMED_TASKS.items():
        PeriodicTask.objects.filter(task=new).update(task=old)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('cases', '0011_move_alert_rollups_to_reporting'),
        ('django_celery_beat', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AlertRollupDelta',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name='ID')),
                        ('received_at', models.DateTimeField()),
                        ('team_id', models.IntegerField(
                            help_text="Team of the alert's case; 0: queued or a case without team.")),
                        ('queued', models.BooleanField(
                            help_text="In no case: visible through its source's default team.")),
                        ('source_id', models.IntegerField()),
                        ('severity', models.CharField(max_length=16)),
                        ('entity_type', models.CharField(max_length=16)),
                        ('entity_value', models.CharField(max_length=2048)),
                        ('change', models.SmallIntegerField()),
                    ],
                    options={'db_table': 'cases_alertrollupdelta'},
                ),
                migrations.CreateModel(
                    name='AlertEntityRollup',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name='ID')),
                        ('day', models.DateField()),
                        ('team_id', models.IntegerField()),
                        ('queued_source_id', models.IntegerField(
                            help_text='Source of queued alerts; 0 for alerts in a case.')),
                        ('entity_type', models.CharField(max_length=16)),
                        ('entity_value', models.CharField(max_length=2048)),
                        ('entity_hash', models.CharField(max_length=32)),
                        ('alerts', models.BigIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'cases_alertentityrollup',
                        'indexes': [models.Index(fields=['day'], name='alert_entity_rollup_day')],
                        'constraints': [models.UniqueConstraint(
                            fields=('day', 'team_id', 'queued_source_id', 'entity_type', 'entity_hash'),
                            name='alert_entity_rollup_key')],
                    },
                ),
                migrations.CreateModel(
                    name='AlertHourRollup',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name='ID')),
                        ('hour', models.DateTimeField()),
                        ('team_id', models.IntegerField()),
                        ('queued', models.BooleanField()),
                        ('source_id', models.IntegerField()),
                        ('severity', models.CharField(max_length=16)),
                        ('alerts', models.BigIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'cases_alerthourrollup',
                        'constraints': [models.UniqueConstraint(
                            fields=('hour', 'team_id', 'queued', 'source_id', 'severity'),
                            name='alert_hour_rollup_key')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rename_scheduled_tasks, restore_scheduled_tasks),
    ]
