# Alert retention (alerts/retention.py) deletes old alerts without rewriting the dashboard's
# history: the trigger of cases/0005 that records a deleted alert as a -1 delta records nothing
# when the deleting transaction has set `soar.retention` to 'on' (SET LOCAL, set_config(..., true)).
# Any other delete (an admin's, a cascade) still lowers the sums. PostgreSQL only, like the triggers.

from django.db import migrations

from soar.migration_ops import postgresql_only

DELTA_COLUMNS = "received_at, team_id, queued, source_id, severity, entity_type, entity_value, change"

BODY = f"""
  INSERT INTO cases_alertrollupdelta ({DELTA_COLUMNS})
  VALUES (OLD.received_at, soar_rollup_team(OLD.case_id), OLD.case_id IS NULL, OLD.source_id, OLD.severity,
          OLD.entity_type, OLD.entity_value, -1);
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO cases_alertrollupdelta ({DELTA_COLUMNS})
    VALUES (NEW.received_at, soar_rollup_team(NEW.case_id), NEW.case_id IS NULL, NEW.source_id, NEW.severity,
            NEW.entity_type, NEW.entity_value, 1);
  END IF;
  RETURN NULL;
"""

FORWARD = f"""
CREATE OR REPLACE FUNCTION soar_rollup_alert_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The retention purge: the purged alerts stay counted in the sums (their period's reports).
  IF TG_OP = 'DELETE' AND current_setting('soar.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
{BODY}
END $$;
"""

BACKWARD = f"""
CREATE OR REPLACE FUNCTION soar_rollup_alert_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{BODY}
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0001_initial'),
        ('cases', '0005_alert_rollup_triggers'),
    ]

    operations = [postgresql_only(FORWARD, BACKWARD)]
