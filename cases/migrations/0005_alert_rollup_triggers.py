"""Triggers that keep the dashboard's alert sums (cases.models.AlertRollupDelta and friends)
in step with every write to alerts and to a case's team, whatever code path makes it (the ORM,
a queryset update, raw SQL, the bench loader). PostgreSQL only: on SQLite (embedded mode) the
dashboard counts alerts directly. Existing alerts are summed by
migration 0007 (or ``manage.py rebuild_report_rollups`` at any time)."""

from django.db import migrations

from soar.migration_ops import postgresql_only

DELTA_COLUMNS = "received_at, team_id, queued, source_id, severity, entity_type, entity_value, change"

FORWARD = f"""
-- The team an alert counts under: its case's team, 0 when queued or the case has none. FOR SHARE
-- waits for a concurrent change of that case's team to commit, so that the alert is recorded
-- under the team the case-team trigger will (or did) move it from.
CREATE OR REPLACE FUNCTION soar_rollup_team(alert_case_id bigint) RETURNS integer
LANGUAGE sql VOLATILE AS $$
  SELECT COALESCE((SELECT team_id FROM cases_case WHERE id = alert_case_id FOR SHARE), 0)::integer
$$;

-- Inserts: one statement-level trigger, so a batch of 1,000 alerts costs one INSERT ... SELECT.
CREATE OR REPLACE FUNCTION soar_rollup_alert_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cases_alertrollupdelta ({DELTA_COLUMNS})
  -- New alerts from the webhook have no case: skip the team look-up for them.
  SELECT n.received_at, CASE WHEN n.case_id IS NULL THEN 0 ELSE soar_rollup_team(n.case_id) END,
         n.case_id IS NULL, n.source_id, n.severity,
         n.entity_type, n.entity_value, 1
  FROM soar_new_alerts n;
  RETURN NULL;
END $$;

-- Updates of a counted column and deletes: the alert leaves its old key and joins its new one.
CREATE OR REPLACE FUNCTION soar_rollup_alert_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cases_alertrollupdelta ({DELTA_COLUMNS})
  VALUES (OLD.received_at, soar_rollup_team(OLD.case_id), OLD.case_id IS NULL, OLD.source_id, OLD.severity,
          OLD.entity_type, OLD.entity_value, -1);
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO cases_alertrollupdelta ({DELTA_COLUMNS})
    VALUES (NEW.received_at, soar_rollup_team(NEW.case_id), NEW.case_id IS NULL, NEW.source_id, NEW.severity,
            NEW.entity_type, NEW.entity_value, 1);
  END IF;
  RETURN NULL;
END $$;

-- A case moved to another team takes its alerts with it.
CREATE OR REPLACE FUNCTION soar_rollup_case_team() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cases_alertrollupdelta ({DELTA_COLUMNS})
  SELECT a.received_at, t.team_id, false, a.source_id, a.severity, a.entity_type, a.entity_value, t.change
  FROM alerts_alert a
  CROSS JOIN (VALUES (COALESCE(OLD.team_id, 0)::integer, -1), (COALESCE(NEW.team_id, 0)::integer, 1)) AS t(team_id, change)
  WHERE a.case_id = NEW.id;
  RETURN NULL;
END $$;

CREATE TRIGGER soar_rollup_alert_insert AFTER INSERT ON alerts_alert
  REFERENCING NEW TABLE AS soar_new_alerts FOR EACH STATEMENT EXECUTE FUNCTION soar_rollup_alert_insert();
-- Row-level with a WHEN clause: the many other updates of an alert (processing state, last
-- seen, occurrence count) never enter the function.
CREATE TRIGGER soar_rollup_alert_update
  AFTER UPDATE OF received_at, case_id, source_id, severity, entity_type, entity_value ON alerts_alert
  FOR EACH ROW WHEN (OLD.received_at IS DISTINCT FROM NEW.received_at OR OLD.case_id IS DISTINCT FROM NEW.case_id
                     OR OLD.source_id IS DISTINCT FROM NEW.source_id OR OLD.severity IS DISTINCT FROM NEW.severity
                     OR OLD.entity_type IS DISTINCT FROM NEW.entity_type
                     OR OLD.entity_value IS DISTINCT FROM NEW.entity_value)
  EXECUTE FUNCTION soar_rollup_alert_change();
CREATE TRIGGER soar_rollup_alert_delete AFTER DELETE ON alerts_alert
  FOR EACH ROW EXECUTE FUNCTION soar_rollup_alert_change();
CREATE TRIGGER soar_rollup_case_team AFTER UPDATE OF team_id ON cases_case
  FOR EACH ROW WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id) EXECUTE FUNCTION soar_rollup_case_team();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS soar_rollup_case_team ON cases_case;
DROP TRIGGER IF EXISTS soar_rollup_alert_delete ON alerts_alert;
DROP TRIGGER IF EXISTS soar_rollup_alert_update ON alerts_alert;
DROP TRIGGER IF EXISTS soar_rollup_alert_insert ON alerts_alert;
DROP FUNCTION IF EXISTS soar_rollup_case_team();
DROP FUNCTION IF EXISTS soar_rollup_alert_change();
DROP FUNCTION IF EXISTS soar_rollup_alert_insert();
DROP FUNCTION IF EXISTS soar_rollup_team(bigint);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0004_alert_rollups"),
        ("alerts", "0003_default_rule"),
    ]

    operations = [postgresql_only(FORWARD, BACKWARD)]
