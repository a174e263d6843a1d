# The alert rollup models moved to the reporting app (reporting/0001). Only Django's state
# changes: the tables, their rows and the triggers that fill them (0005) stay as they are.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0010_api_tokens'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='AlertRollupDelta'),
                migrations.DeleteModel(name='AlertHourRollup'),
                migrations.DeleteModel(name='AlertEntityRollup'),
            ],
            database_operations=[],
        ),
    ]
