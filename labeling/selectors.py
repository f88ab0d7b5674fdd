"""Labeling reads. Every selector returns data with its relations already loaded; none writes."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from string import ascii_uppercase
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from config.errors import NotFound
from labeling.models import Assignment, Demonstration, Project, Prompt, Ranking, RankingEntry, Task, TaskSample
from labeling.sql import hot_cursor, ids_subquery, read_datetime, read_json, select_one

# --- Projects and prompts ------------------------------------------------------------------


def project_list(*, include_inactive: bool = False) -> QuerySet[Project]:
    qs = Project.objects.all()
    return qs if include_inactive else qs.filter(is_active=True)


def project_get(*, slug: str, include_inactive: bool = False) -> Project:
    # Raw SQL (values still converted as the ORM does): this runs on every next-task call,
    # where building an ORM query cost more than running it.
    project = select_one(Project, "slug = %s", [slug])
    if project is None or not (include_inactive or project.is_active):
        raise NotFound(f"No project {slug!r}.")
    return project


# A task ``t`` that labeler %(labeler)s may claim at %(now)s, once it is open: they have not
# done it, skipped it or leased it (a lapsed lease of their own does not count), and it has a
# free slot (submissions plus live leases below its overlap). The claim's candidate query
# (labeling.services.assignments) and the available-work counts share it.
CLAIMABLE_SQL = """
  NOT EXISTS (
    SELECT 1 FROM labeling_assignment mine
    WHERE mine.task_id = t.id AND mine.labeler_id = %(labeler)s
      AND mine.status IN ('active', 'submitted', 'skipped')
      AND NOT (mine.status = 'active' AND mine.expires_at <= %(now)s)
  )
  AND t.submitted_count + (
    SELECT count(*) FROM labeling_assignment live
    WHERE live.task_id = t.id AND live.status = 'active' AND live.expires_at > %(now)s
  ) < t.overlap"""

# Claimable tasks per project and kind, counted up to a cap through the queue's index, so the
# count costs the same on a project of 100 tasks and one of a million.
AVAILABLE_CAP = 1000
_AVAILABLE_SQL = (
    """
SELECT p.id, k.kind, (
  SELECT count(*) FROM (
    SELECT 1 FROM labeling_task t
    WHERE t.project_id = p.id AND t.kind = k.kind AND t.status = 'open' AND"""
    + CLAIMABLE_SQL
    + """
    LIMIT %(cap)s
  ) capped
)
FROM labeling_project p CROSS JOIN (SELECT 'demonstration' AS kind UNION ALL SELECT 'ranking') k
WHERE p.id IN ({projects})
"""
)


def available_work(*, user: AbstractBaseUser, projects: list[Project]) -> dict[int, dict[str, int]]:
    """Per project id, how many tasks of each kind ``user`` could claim right now, counted up
    to AVAILABLE_CAP (that value means "at least that many")."""
    counts = {p.pk: {kind: 0 for kind in Task.Kind.values} for p in projects}
    if not projects:
        return counts
    params = {"labeler": user.pk, "now": connection.ops.adapt_datetimefield_value(timezone.now()), "cap": AVAILABLE_CAP}
    params.update({f"p{i}": p.pk for i, p in enumerate(projects)})
    sql = _AVAILABLE_SQL.format(projects=", ".join(f"%(p{i})s" for i in range(len(projects))))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for project_id, kind, n in cursor.fetchall():
            counts[project_id][kind] = n
    return counts


def prompt_list(*, project: Project, split: str | None = None, search: str | None = None) -> QuerySet[Prompt]:
    qs = Prompt.objects.filter(project=project).select_related("project").order_by("id")
    if split:
        qs = qs.filter(split=split)
    if search:
        qs = qs.filter(text__icontains=search)
    return qs


def prompt_get(*, prompt_id: int) -> Prompt:
    try:
        return Prompt.objects.select_related("project").get(pk=prompt_id)
    except Prompt.DoesNotExist as exc:
        raise NotFound("No such prompt.") from exc


# --- A labeler's own work ------------------------------------------------------------------


def assignment_list_for_user(*, user: AbstractBaseUser, status: str | None = None) -> QuerySet[Assignment]:
    """The user's own assignments, newest first, ready to serialize (prompt, project, samples)."""
    qs = (
        Assignment.objects.filter(labeler=user)
        .select_related("task", "task__prompt", "task__project")
        .prefetch_related(Prefetch("task__task_samples", queryset=TaskSample.objects.select_related("sample")))
        .order_by("-created_at", "-id")
    )
    if status:
        qs = qs.filter(status=status)
    return qs


def assignment_get_for_user(*, assignment_id: int, user: AbstractBaseUser) -> Assignment:
    """The user's own assignment; someone else's is reported as not found."""
    try:
        return assignment_list_for_user(user=user).get(pk=assignment_id)
    except Assignment.DoesNotExist as exc:
        raise NotFound("No such assignment.") from exc


# The labeling screen's payload in one statement: the assignment, its task, project and
# prompt, and the task's samples as [id, text] pairs in task order (JSON, aggregated per dialect).
PAYLOAD_SQL = """
SELECT a.id, a.status, a.expires_at, a.shown_order, a.draft, a.draft_saved_at,
       t.kind, p.slug, p.guidelines, pr.id, pr.text, pr.category, {samples}
FROM labeling_assignment a
JOIN labeling_task t ON t.id = a.task_id
JOIN labeling_project p ON p.id = t.project_id
JOIN labeling_prompt pr ON pr.id = t.prompt_id
WHERE a.id = %(assignment)s
"""
_PAYLOAD_SAMPLES = {
    "postgresql": (
        "(SELECT json_agg(json_build_array(s.id, s.text) ORDER BY ts.position) FROM labeling_tasksample ts "
        "JOIN labeling_sample s ON s.id = ts.sample_id WHERE ts.task_id = t.id)"
    ),
    "sqlite": (
        "(SELECT json_group_array(json_array(id, text)) FROM (SELECT s.id, s.text FROM labeling_tasksample ts "
        "JOIN labeling_sample s ON s.id = ts.sample_id WHERE ts.task_id = t.id ORDER BY ts.position))"
    ),
}


def payload_sql() -> str:
    return PAYLOAD_SQL.format(samples=_PAYLOAD_SAMPLES.get(connection.vendor, _PAYLOAD_SAMPLES["sqlite"]))


def payload_from_row(row) -> dict[str, Any]:
    """The payload (the shape of the API's ``AssignmentOutput``) from a row of PAYLOAD_SQL.
    Samples come in this labeler's shown order, labelled A, B, C ... as shown."""
    (pk, status, expires_at, shown_order, draft, draft_saved_at, kind, slug, guidelines,
     prompt_id, prompt_text, category, samples) = row
    samples_out = []
    if kind == Task.Kind.RANKING:
        by_id = {sample_id: text for sample_id, text in read_json(samples) or []}
        order = [sid for sid in read_json(shown_order) or [] if sid in by_id] or list(by_id)
        samples_out = [{"id": sid, "label": ascii_uppercase[i], "text": by_id[sid]} for i, sid in enumerate(order)]
    return {
        "id": pk,
        "kind": kind,
        "status": status,
        "project": slug,
        "expires_at": read_datetime(expires_at),
        "prompt": {"id": prompt_id, "text": prompt_text, "category": category},
        "samples": samples_out,
        "draft": draft,
        "draft_saved_at": read_datetime(draft_saved_at),
        "guidelines": guidelines,
    }


def assignment_payload(*, assignment_id: int) -> dict[str, Any]:
    """What the labeling screen shows for an assignment, in one query (see payload_from_row)."""
    with hot_cursor() as cursor:
        cursor.execute(payload_sql(), {"assignment": assignment_id})
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such assignment.")
    return payload_from_row(row)


def _median(values: list[int]) -> int | None:
    return round(statistics.median(values)) if values else None


def user_stats(*, user: AbstractBaseUser) -> dict[str, Any]:
    """The labeler's own totals: demonstrations, rankings, skips, today's count and the
    median time per task (ms), overall and today."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    work = list(Demonstration.objects.filter(labeler=user).values_list("time_spent_ms", "created_at")) + list(
        Ranking.objects.filter(labeler=user).values_list("time_spent_ms", "created_at")
    )
    demos = Demonstration.objects.filter(labeler=user).count()
    todays = [ms for ms, created in work if created >= today]
    return {
        "demonstrations": demos,
        "rankings": len(work) - demos,
        "submitted": len(work),
        "skipped": Assignment.objects.filter(labeler=user, status=Assignment.Status.SKIPPED).count(),
        "today": len(todays),
        "median_time_ms": _median([ms for ms, _ in work]),
        "today_median_time_ms": _median(todays),
    }


# Position bias: for each ranking, was the sample shown first placed in the top group, and how
# likely was that by chance (top group size / K)? A labeler who favours the first answer shown
# scores well above chance. Rankings without a recorded display order (imports) are left out.
_ACTIVITY_SQL = """
WITH work AS (
  SELECT d.labeler_id, 'demonstration' AS kind, d.time_spent_ms, d.created_at,
         0 AS shown, 0 AS first_best, 0.0 AS chance
  FROM labeling_demonstration d JOIN labeling_prompt p ON p.id = d.prompt_id
  WHERE p.project_id = %(project)s AND d.labeler_id IS NOT NULL
  UNION ALL
  SELECT r.labeler_id, 'ranking', r.time_spent_ms, r.created_at,
         CASE WHEN f.id IS NULL THEN 0 ELSE 1 END,
         CASE WHEN f.rank = 1 THEN 1 ELSE 0 END,
         CASE WHEN f.id IS NULL THEN 0.0 ELSE {top_share} END
  FROM labeling_ranking r JOIN labeling_task t ON t.id = r.task_id
  LEFT JOIN labeling_rankingentry f ON f.ranking_id = r.id AND f.sample_id = {first_shown}
  WHERE t.project_id = %(project)s AND r.labeler_id IS NOT NULL
)
SELECT labeler_id,
  count(*) FILTER (WHERE kind = 'demonstration'),
  count(*) FILTER (WHERE kind = 'ranking'),
  count(*) FILTER (WHERE created_at >= %(day_ago)s),
  {median},
  min(created_at), max(created_at),
  sum(shown), sum(first_best), sum(chance)
FROM work GROUP BY labeler_id
"""
_ACTIVITY_DIALECT = {
    "postgresql": {
        "median": "percentile_cont(0.5) WITHIN GROUP (ORDER BY time_spent_ms)",
        "first_shown": "(r.shown_order->>0)::bigint",
        "top_share": 'jsonb_array_length(r."order"->0)::float / jsonb_array_length(r.shown_order)',
    },
    "sqlite": {
        "median": "NULL",  # no percentile function: medians are taken in Python
        "first_shown": "json_extract(r.shown_order, '$[0]')",
        "top_share": """json_array_length(r."order", '$[0]') * 1.0 / json_array_length(r.shown_order)""",
    },
}


# Inter-labeler agreement, as InstructGPT measured it: over every task that two labelers both
# ranked, the share of sample pairs both put in the same order. A pair either labeler tied says
# nothing about order and is left out. One row per ranking: (ranking id, labeler id, pairs it
# shares with other rankings of its task, of which agree). Positional parameters, in order:
# project id, highest ranking id counted. Both backends run it as written. Only tasks with two
# or more submissions can share pairs (imported rankings get a task each), so the scan starts
# from those tasks, not from every ranking of the project.
RANKING_AGREEMENT_SQL = """
WITH shared AS (
  SELECT t.id AS task_id FROM labeling_task t
  WHERE t.project_id = %s AND t.kind = 'ranking' AND t.submitted_count >= 2
), e AS (
  SELECT r.id AS ranking_id, r.task_id, r.labeler_id, en.sample_id, en.rank
  FROM shared s JOIN labeling_ranking r ON r.task_id = s.task_id
  JOIN labeling_rankingentry en ON en.ranking_id = r.id
  WHERE r.labeler_id IS NOT NULL AND r.id <= %s
)
SELECT a1.ranking_id, a1.labeler_id, count(*) AS pairs,
       sum(CASE WHEN (a1.rank < a2.rank) = (b1.rank < b2.rank) THEN 1 ELSE 0 END) AS agree
FROM e a1
JOIN e a2 ON a2.ranking_id = a1.ranking_id AND a2.sample_id > a1.sample_id AND a2.rank <> a1.rank
JOIN e b1 ON b1.task_id = a1.task_id AND b1.ranking_id <> a1.ranking_id AND b1.sample_id = a1.sample_id
JOIN e b2 ON b2.ranking_id = b1.ranking_id AND b2.sample_id = a2.sample_id AND b2.rank <> b1.rank
GROUP BY a1.ranking_id, a1.labeler_id
"""
# Ids of rankings whose agreement is at least a share (parameters: those above, then the share).
AGREEING_RANKINGS_SQL = f"SELECT ranking_id FROM ({RANKING_AGREEMENT_SQL}) agreement WHERE agree >= %s * pairs"
ALL_RANKINGS = 2**62  # a ranking id cutoff that counts every ranking


def ranking_agreement(*, project: Project, max_ranking_id: int | None = None) -> list[tuple[int, int, int, int]]:
    """(ranking id, labeler id, pairs, agreeing pairs) for every ranking of ``project`` that
    shares an untied pair with another labeler's ranking of its task (counting rankings up to
    ``max_ranking_id`` only, so an export replays with the agreement it had)."""
    cutoff = ALL_RANKINGS if max_ranking_id is None else max_ranking_id
    with connection.cursor() as cursor:
        cursor.execute(RANKING_AGREEMENT_SQL, [project.pk, cutoff])
        return [(int(a), int(b), int(c), int(d)) for a, b, c, d in cursor.fetchall()]


def labeler_agreement(*, project: Project) -> dict[int, tuple[int, int]]:
    """{labeler id: (agreeing pairs, pairs)} with the other labelers of ``project``."""
    totals: dict[int, tuple[int, int]] = {}
    for _, labeler_id, pairs, agree in ranking_agreement(project=project):
        a, n = totals.get(labeler_id, (0, 0))
        totals[labeler_id] = (a + agree, n + pairs)
    return totals


def project_activity(*, project: Project) -> list[dict[str, Any]]:
    """Per labeler in ``project``: submissions by kind, throughput (last 24 h, and per hour
    between their first and last submission), median time per task, skips, and agreement
    with the other labelers on the tasks they both ranked, and position bias (how often the
    sample shown first was ranked best, against chance)."""
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    sql = _ACTIVITY_SQL.format(**_ACTIVITY_DIALECT["postgresql" if postgres else "sqlite"])
    with connection.cursor() as cursor:
        cursor.execute(sql, {"project": project.pk, "day_ago": connection.ops.adapt_datetimefield_value(now - timedelta(days=1))})
        rows = cursor.fetchall()
    if not postgres:
        # The embedded SQLite default has no percentile function: take medians here.
        times: dict[int, list[int]] = {}
        for labeler_id, ms in list(
            Demonstration.objects.filter(prompt__project=project).values_list("labeler_id", "time_spent_ms")
        ) + list(Ranking.objects.filter(task__project=project).values_list("labeler_id", "time_spent_ms")):
            times.setdefault(labeler_id, []).append(ms)
        rows = [(*r[:4], statistics.median(times[r[0]]), read_datetime(r[5]), read_datetime(r[6]), *r[7:]) for r in rows]
    users = get_user_model().objects.in_bulk([r[0] for r in rows])
    skips = dict(
        Assignment.objects.filter(task__project=project, status=Assignment.Status.SKIPPED)
        .values_list("labeler_id")
        .annotate(n=Count("id"))
    )
    agreement = labeler_agreement(project=project)
    result = []
    for labeler_id, demos, rankings, last_day, median_ms, first, last, shown, first_best, chance in rows:
        agree, pairs = agreement.get(labeler_id, (0, 0))
        total = demos + rankings
        hours = max((last - first).total_seconds() / 3600, 1 / 60) if total > 1 else None
        result.append(
            {
                "labeler_id": labeler_id,
                "username": users[labeler_id].username if labeler_id in users else None,
                "demonstrations": demos,
                "rankings": rankings,
                "submitted": total,
                "skipped": skips.get(labeler_id, 0),
                "last_24h": last_day,
                "per_hour": round(total / hours, 2) if hours else None,
                "median_time_ms": round(median_ms) if median_ms is not None else None,
                "agreement": round(agree / pairs, 3) if pairs else None,
                "agreement_pairs": pairs,
                "first_shown_best": round(first_best / shown, 3) if shown else None,
                "first_shown_best_by_chance": round(float(chance) / shown, 3) if shown else None,
                "last_submitted_at": last,
            }
        )
    return sorted(result, key=lambda r: (-r["submitted"], r["username"] or ""))


# --- Users --------------------------------------------------------------------------------


def user_list() -> QuerySet:
    return get_user_model().objects.prefetch_related("groups").order_by("username")


def user_get(*, user_id: int):
    try:
        return user_list().get(pk=user_id)
    except get_user_model().DoesNotExist as exc:
        raise NotFound("No such user.") from exc


# --- For the training app (keep these names) ------------------------------------------------


def training_demonstrations(*, project: Project, ids: list[int] | None = None) -> QuerySet[Demonstration]:
    """Every demonstration of the project's prompts (or those of ``ids``, a snapshot's), with its prompt."""
    qs = Demonstration.objects.filter(prompt__project=project)
    if ids is not None:
        qs = qs.filter(id__in=ids_subquery(ids))
    return qs.select_related("prompt").order_by("id")


def training_rankings(*, project: Project, ids: list[int] | None = None) -> QuerySet[Ranking]:
    """Every ranking of the project (or those of ``ids``, a snapshot's), with its task's prompt
    and its entries' samples."""
    qs = Ranking.objects.filter(task__project=project)
    if ids is not None:
        qs = qs.filter(id__in=ids_subquery(ids))
    return (
        qs.select_related("task", "task__prompt")
        .prefetch_related(Prefetch("entries", queryset=RankingEntry.objects.select_related("sample").order_by("rank", "sample_id")))
        .order_by("id")
    )


def prompts_for_sampling(*, project: Project, split: str = "train") -> QuerySet[Prompt]:
    """The project's prompts of one split, oldest first: what a policy answers to make the next
    ranking tasks (train) or to be measured on (eval), and what a round's snapshot freezes."""
    return Prompt.objects.filter(project=project, split=split).order_by("id")


def prompts_by_ids(*, ids: list[int]) -> QuerySet[Prompt]:
    """The prompts with these ids (a snapshot's), oldest first."""
    return Prompt.objects.filter(id__in=ids_subquery(ids)).order_by("id")


def rankings_count_since(*, project: Project, since: datetime | None) -> int:
    """Rankings submitted in ``project`` after ``since`` (all of them when None)."""
    qs = Ranking.objects.filter(task__project=project)
    if since is not None:
        qs = qs.filter(created_at__gt=since)
    return qs.count()
