# Case.observables is now declared on the other side, as alerts.Observable.cases (alerts/0009),
# so that the cases app's schema names no model of the alerts app. Only Django's state
# changes: the table cases_case_observables and its rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0011_move_alert_rollups_to_reporting'),
        ('alerts', '0008_signed_request'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name='case', name='observables')],
            database_operations=[],
        ),
    ]
