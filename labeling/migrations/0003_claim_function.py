"""The next-task claim as one PostgreSQL function call (see labeling.services.assignments).

A claim locks a candidate task (SKIP LOCKED), then counts its live leases in a later statement,
so that the count sees every lease committed before the lock was taken. From Python that was a
transaction of five round trips; inside a PL/pgSQL function each statement still takes a fresh
READ COMMITTED snapshot, and the whole claim is one call. The function takes only the common
case and returns no row for anything else (an empty or contended queue, a lapsed lease of the
labeler's own or another's on the last slot): the Python path then decides, as it always did.
Other databases (the embedded SQLite) never call it.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION labeling_claim_next(
  p_project bigint, p_kinds text[], p_labeler integer, p_now timestamptz, p_expires_at timestamptz, p_attempts integer
) RETURNS TABLE (assignment_id bigint, task_id bigint, held boolean, shown_order jsonb, created_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_kind text := p_kinds[1];
  v_task bigint;
  v_excluded bigint[];
  v_open boolean;
  v_free bigint;
  v_lapsed_others boolean;
  v_own bigint;
BEGIN
  -- A live lease the labeler already holds here is handed back, not a second task.
  RETURN QUERY
    SELECT a.id, a.task_id, true, a.shown_order, a.created_at
    FROM labeling_assignment a JOIN labeling_task t ON t.id = a.task_id
    WHERE a.labeler_id = p_labeler AND a.status = 'active' AND a.expires_at > p_now
      AND t.project_id = p_project AND t.kind = ANY (p_kinds)
    ORDER BY a.created_at, a.id
    LIMIT 1;
  IF FOUND THEN
    RETURN;
  END IF;

  -- Claims try the first kind only; when it has nothing unlocked, the Python path walks the rest.
  v_excluded := '{}';
  FOR attempt IN 1..p_attempts LOOP
    SELECT t.id INTO v_task
    FROM labeling_task t
    WHERE t.project_id = p_project AND t.kind = v_kind AND t.status = 'open'
      AND t.id <> ALL (v_excluded)
      AND NOT EXISTS (
        SELECT 1 FROM labeling_assignment mine
        WHERE mine.task_id = t.id AND mine.labeler_id = p_labeler
          AND mine.status IN ('active', 'submitted', 'skipped')
          AND NOT (mine.status = 'active' AND mine.expires_at <= p_now)
      )
      AND t.submitted_count + (
        SELECT count(*) FROM labeling_assignment live
        WHERE live.task_id = t.id AND live.status = 'active' AND live.expires_at > p_now
      ) < t.overlap
    ORDER BY t.priority, t.id
    LIMIT 1
    FOR UPDATE OF t SKIP LOCKED;
    IF v_task IS NULL THEN
      -- Nothing unlocked is free. A task another claim holds may still have a slot: the
      -- Python path waits for it before saying the queue is empty.
      RETURN;
    END IF;

    -- A new statement, so a new snapshot: every lease committed before the lock counts.
    SELECT t.status = 'open',
      t.overlap - t.submitted_count - (
        SELECT count(*) FROM labeling_assignment a
        WHERE a.task_id = t.id AND a.status = 'active' AND a.expires_at > p_now),
      EXISTS (
        SELECT 1 FROM labeling_assignment a
        WHERE a.task_id = t.id AND a.status = 'active' AND a.expires_at <= p_now AND a.labeler_id <> p_labeler),
      (SELECT a.id FROM labeling_assignment a WHERE a.task_id = t.id AND a.labeler_id = p_labeler)
    INTO v_open, v_free, v_lapsed_others, v_own
    FROM labeling_task t WHERE t.id = v_task;

    IF NOT v_open OR v_free <= 0 THEN
      v_excluded := v_excluded || v_task;  -- filled up meanwhile: the next candidate
      CONTINUE;
    END IF;
    IF v_own IS NOT NULL OR (v_free = 1 AND v_lapsed_others) THEN
      RETURN;  -- a row to reuse or lapsed leases to expire: the Python path does that
    END IF;

    -- The samples shuffled per labeler, stored for position-bias analysis.
    RETURN QUERY
      WITH lease AS (
        INSERT INTO labeling_assignment AS a (task_id, labeler_id, status, expires_at, created_at, skip_reason, shown_order, draft)
        VALUES (v_task, p_labeler, 'active', p_expires_at, p_now, '',
          COALESCE((SELECT jsonb_agg(ts.sample_id ORDER BY random()) FROM labeling_tasksample ts WHERE ts.task_id = v_task), '[]'), '')
        RETURNING a.id, a.task_id, a.shown_order, a.created_at
      )
      SELECT lease.id, lease.task_id, false, lease.shown_order, lease.created_at FROM lease;
    RETURN;
  END LOOP;
  -- A very contended queue: the Python path tries again.
END;
$$;
"""

DROP = "DROP FUNCTION IF EXISTS labeling_claim_next(bigint, text[], integer, timestamptz, timestamptz, integer);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("labeling", "0002_roles")]

    operations = [migrations.RunPython(create, drop)]
