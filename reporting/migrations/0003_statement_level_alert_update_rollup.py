# The rollup trigger on alert updates (cases/0005), statement-level: one INSERT ... SELECT of the
# deltas of every alert the statement moved, instead of a PL/pgSQL call, two team look-ups and two
# single-row INSERTs per alert. Correlation updates a whole chunk of alerts (their case_id) in one
# statement: the per-row trigger was ~80 % of that UPDATE's cost (bench/results.md, issue 16).
#
# Same deltas as before, with one difference that changes no sum: an alert whose visibility key
# does not change (moved between two cases of the same team, as a merge does) gets no -1/+1 pair.
# The team look-ups keep their FOR SHARE (see soar_rollup_team, cases/0005), taken in case id
# order. An UPDATE trigger with transition tables cannot name columns (UPDATE OF ...), so it runs
# for every UPDATE statement on alerts; one that changes no counted column inserts nothing.
# The delete trigger stays per row (reporting/0002: the retention purge skips it).

from django.db import migrations

from soar.migration_ops import postgresql_only

DELTA_COLUMNS = "received_at, team_id, queued, source_id, severity, entity_type, entity_value, change"
COUNTED = ("received_at", "case_id", "source_id", "severity", "entity_type", "entity_value")


def _row(alias: str) -> str:
    return "(" + ", ".join(f"{alias}.{column}" for column in COUNTED) + ")"


FORWARD = f"""
CREATE OR REPLACE FUNCTION soar_rollup_alert_update_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The webhook's INSERT ... ON CONFLICT DO UPDATE fires this trigger for every new alert,
  -- with empty transition tables: leave before planning the INSERT below.
  IF NOT EXISTS (SELECT FROM soar_new_alerts) THEN
    RETURN NULL;
  END IF;
  WITH moved AS (
    SELECT o.received_at AS old_received_at, o.case_id AS old_case_id, o.source_id AS old_source_id,
           o.severity AS old_severity, o.entity_type AS old_entity_type, o.entity_value AS old_entity_value,
           n.received_at, n.case_id, n.source_id, n.severity, n.entity_type, n.entity_value
    FROM soar_old_alerts o JOIN soar_new_alerts n ON n.id = o.id
    WHERE {_row('o')} IS DISTINCT FROM {_row('n')}
  ),
  teams AS (
    SELECT c.id, c.team_id FROM cases_case c
    WHERE c.id IN (SELECT old_case_id FROM moved UNION SELECT case_id FROM moved)
    ORDER BY c.id FOR SHARE
  ),
  keyed AS (
    SELECT m.*, COALESCE(ot.team_id, 0)::integer AS old_team_id, COALESCE(nt.team_id, 0)::integer AS team_id
    FROM moved m LEFT JOIN teams ot ON ot.id = m.old_case_id LEFT JOIN teams nt ON nt.id = m.case_id
  )
  INSERT INTO cases_alertrollupdelta ({DELTA_COLUMNS})
  SELECT d.*
  FROM keyed k
  CROSS JOIN LATERAL (VALUES
    (k.old_received_at, k.old_team_id, k.old_case_id IS NULL, k.old_source_id, k.old_severity,
     k.old_entity_type, k.old_entity_value, -1::smallint),
    (k.received_at, k.team_id, k.case_id IS NULL, k.source_id, k.severity, k.entity_type, k.entity_value,
     1::smallint)) AS d({DELTA_COLUMNS})
  WHERE (k.old_received_at, k.old_team_id, k.old_case_id IS NULL, k.old_source_id, k.old_severity,
         k.old_entity_type, k.old_entity_value)
        IS DISTINCT FROM (k.received_at, k.team_id, k.case_id IS NULL, k.source_id, k.severity, k.entity_type,
                          k.entity_value);
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS soar_rollup_alert_update ON alerts_alert;
CREATE TRIGGER soar_rollup_alert_update AFTER UPDATE ON alerts_alert
  REFERENCING OLD TABLE AS soar_old_alerts NEW TABLE AS soar_new_alerts
  FOR EACH STATEMENT EXECUTE FUNCTION soar_rollup_alert_update_rows();
"""

# cases/0005's row-level trigger; its function (soar_rollup_alert_change) still serves deletes.
BACKWARD = """
DROP TRIGGER IF EXISTS soar_rollup_alert_update ON alerts_alert;
CREATE TRIGGER soar_rollup_alert_update
  AFTER UPDATE OF received_at, case_id, source_id, severity, entity_type, entity_value ON alerts_alert
  FOR EACH ROW WHEN (OLD.received_at IS DISTINCT FROM NEW.received_at OR OLD.case_id IS DISTINCT FROM NEW.case_id
                     OR OLD.source_id IS DISTINCT FROM NEW.source_id OR OLD.severity IS DISTINCT FROM NEW.severity
                     OR OLD.entity_type IS DISTINCT FROM NEW.entity_type
                     OR OLD.entity_value IS DISTINCT FROM NEW.entity_value)
  EXECUTE FUNCTION soar_rollup_alert_change();
DROP FUNCTION IF EXISTS soar_rollup_alert_update_rows();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0002_retention_keeps_rollups'),
    ]

    operations = [postgresql_only(FORWARD, BACKWARD)]
