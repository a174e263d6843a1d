# The case <-> observable link, declared here instead of on cases.Case (cases/0012), on the
# same table: nothing changes in the database.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0008_signed_request'),
        ('cases', '0012_observables_link_declared_by_alerts'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='observable',
                    name='cases',
                    field=models.ManyToManyField(blank=True, db_table='cases_case_observables',
                                                 related_name='observables', to='cases.case'),
                ),
            ],
            database_operations=[],
        ),
    ]
