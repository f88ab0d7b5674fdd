"""Seed many K-way rankings fast (PostgreSQL COPY), for the export benchmark and load tests.

Each task gets `--labelers` rankings (one per seeded labeler), so N rankings need N / labelers
prompts and tasks. Ids are allocated in one block under a table lock: run it on a benchmark
database, not next to live labeling traffic.
"""

from __future__ import annotations

import io
import json
import random
import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from labeling.models import Prompt, Project, Ranking, RankingEntry, Sample, Task, TaskSample, text_digest

_WORDS = "the a model answer sky blue clear short long careful helpful kind wrong right because data rank best worst".split()
_BUFFER = 8 << 20


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples of already-escaped text cells) into `table`, flushing every 8 MB."""
    count, buf = 0, io.StringIO()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            buf.write("\t".join(row))
            buf.write("\n")
            count += 1
            if buf.tell() > _BUFFER:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())
    return count


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
    return cursor.fetchone()[0]


class Command(BaseCommand):
    help = "Seed N rankings of K model samples into a (benchmark) project, fast."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="Project slug (created when missing).")
        parser.add_argument("--n", type=int, required=True, help="Rankings to add.")
        parser.add_argument("--k", type=int, default=4)
        parser.add_argument("--labelers", type=int, default=4, help="Rankings per task (distinct labelers).")
        parser.add_argument("--tie-rate", type=float, default=0.1, help="Share of rankings with one tie.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("seed_rankings uses PostgreSQL COPY; point DATABASE_URL at PostgreSQL.")
        n, k, n_lab = opts["n"], opts["k"], opts["labelers"]
        if n < 1 or not 2 <= k <= 9 or n_lab < 1:
            raise CommandError("Give --n >= 1, --k from 2 to 9 and --labelers >= 1.")
        rng = random.Random(opts["seed"])
        project, _ = Project.objects.get_or_create(slug=opts["project"], defaults={"name": opts["project"], "k": k, "overlap": n_lab})
        users = [get_user_model().objects.get_or_create(username=f"seed-labeler-{i}")[0].id for i in range(n_lab)]
        checkpoint = str(uuid.UUID(int=opts["seed"] + 1))
        now = timezone.now().isoformat()
        n_tasks = -(-n // n_lab)
        tables = {m: m._meta.db_table for m in (Prompt, Task, Sample, TaskSample, Ranking, RankingEntry)}
        with transaction.atomic(), connection.cursor() as django_cursor:
            cursor = django_cursor.cursor  # the psycopg cursor, for COPY
            cursor.execute(f"LOCK TABLE {', '.join(tables.values())} IN EXCLUSIVE MODE")
            if connection.connection.info.parameter_status("is_superuser") == "on":
                # Foreign-key triggers per row would triple the run time; the ids written below
                # are consistent by construction. Only for this transaction.
                cursor.execute("SET LOCAL session_replication_role = replica")
            start = {m: _next_id(cursor, t) for m, t in tables.items()}
            tag = f"{opts['project']}-{start[Prompt]}"

            def prompts():
                for i in range(n_tasks):
                    text = f"Seed prompt {tag}-{i}: explain why the {rng.choice(_WORDS)} {rng.choice(_WORDS)} matters?"
                    yield (str(start[Prompt] + i), str(project.id), _esc(text), text_digest(text), "other", "train", "imported", "{}", now)

            _copy(cursor, tables[Prompt], ["id", "project_id", "text", "text_hash", "category", "split", "source", "metadata", "created_at"], prompts())

            def tasks():
                for i in range(n_tasks):
                    yield (str(start[Task] + i), str(project.id), str(start[Prompt] + i), "ranking", "complete", str(n_lab), str(n_lab), "0", "1", now)

            _copy(cursor, tables[Task], ["id", "project_id", "prompt_id", "kind", "status", "overlap", "submitted_count", "priority", "round_number", "created_at"], tasks())

            generation = json.dumps({"temperature": 0.7, "top_p": 0.9, "max_new_tokens": 64})
            # Pools of texts and rank patterns, drawn from per row: random choices per word or
            # per sample would dominate the run time at a million rankings.
            pool = [" ".join(rng.choice(_WORDS) for _ in range(8 + j % 8)) for j in range(997)]

            def samples():
                for i in range(n_tasks * k):
                    text = f"Answer {i % k}: {pool[(i * 7919) % 997]}."
                    yield (str(start[Sample] + i), str(start[Prompt] + i // k), text, "model", checkpoint, "1", generation, now)

            _copy(cursor, tables[Sample], ["id", "prompt_id", "text", "origin", "checkpoint_id", "round_number", "generation", "created_at"], samples())
            _copy(
                cursor,
                tables[TaskSample],
                ["id", "task_id", "sample_id", "position"],
                ((str(start[TaskSample] + i), str(start[Task] + i // k), str(start[Sample] + i), str(i % k)) for i in range(n_tasks * k)),
            )

            # Rank patterns: groups of positions (0..k-1), best first; some with one tie.
            patterns = []
            for _ in range(256):
                positions = list(range(k))
                rng.shuffle(positions)
                groups = [[p] for p in positions]
                if rng.random() < opts["tie_rate"]:
                    j = rng.randrange(k - 1)
                    groups[j : j + 2] = [groups[j] + groups[j + 1]]
                patterns.append(groups)
            choice = [rng.randrange(256) for _ in range(4096)]
            shown = "[" + ",".join(["%d"] * k) + "]"

            def pattern(r: int) -> list[list[int]]:
                return patterns[choice[r % 4096] ^ (r // 4096 % 256)]

            def rankings():
                for r in range(n):
                    t = r // n_lab
                    base = start[Sample] + t * k
                    order = "[" + ",".join("[" + ",".join(str(base + p) for p in g) + "]" for g in pattern(r)) + "]"
                    yield (
                        str(start[Ranking] + r), str(start[Task] + t), str(users[r % n_lab]), order, "false",
                        shown % tuple(range(base, base + k)), str(5_000 + (r * 7919) % 115_000), now,
                    )  # fmt: skip

            _copy(cursor, tables[Ranking], ["id", "task_id", "labeler_id", '"order"', "none_acceptable", "shown_order", "time_spent_ms", "created_at"], rankings())

            def entries():
                e = start[RankingEntry]
                for r in range(n):
                    base = start[Sample] + (r // n_lab) * k
                    rid = str(start[Ranking] + r)
                    for rank, group in enumerate(pattern(r), start=1):
                        for p in group:
                            yield (str(e), rid, str(base + p), str(rank), str(8 - rank if rank < 7 else 1), "[]")
                            e += 1

            written = _copy(cursor, tables[RankingEntry], ["id", "ranking_id", "sample_id", "rank", "score", "flags"], entries())
            for table in tables.values():
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        with connection.cursor() as c:
            for table in tables.values():
                c.execute(f"ANALYZE {table}")
        self.stdout.write(json.dumps({"project": project.slug, "prompts": n_tasks, "samples": n_tasks * k, "rankings": n, "entries": written}))
