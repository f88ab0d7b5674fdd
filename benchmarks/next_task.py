"""Throughput and latency of the labeling queue under load: 32 labelers doing next-task +
submit loops against gunicorn with production settings, on a project of 100,000 ranking tasks.

What it does, in a database of its own (``rlhf_bench``, created and dropped here):
1. seeds a project of 100,000 ranking tasks (K=4) and one of 1,000 in SQL (seconds);
2. counts SQL queries per request (next-task and submit, full request through the API) on both
   projects: the count must not grow with the project;
3. prints the EXPLAIN of the queue's candidate query on the big project;
4. starts gunicorn (DEBUG off, production settings) on 127.0.0.1 and runs 32 client threads
   (one thin keep-alive http.client connection each, token auth) for a fixed time, each
   looping: next task -> submit ranking; first closed-loop (capacity), then at a fixed offered rate.

Usage: python -m benchmarks.next_task [--seconds 30] [--clients 32] [--workers 2] [--threads 4]
Needs PostgreSQL (127.0.0.1:5432, user postgres, or BENCH_PG_URL). Last line:
rps=... p50_ms=... p99_ms=... queries_per_request=...
("rps" counts next-task + submit loops per second.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "rlhf_bench"
BIG, SMALL = 100_000, 1_000
LABELER_PASSWORD = "bench-labeler-password"

_DATA_DIR = Path(tempfile.mkdtemp(prefix="next-task-bench-"))
# The API serves no static files; an empty STATIC_ROOT keeps WhiteNoise from warning about it.
(_DATA_DIR / "static").mkdir()

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DATABASE_URL": f"{PG_URL}/{DB_NAME}",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    # Plain HTTP on loopback: no TLS redirect (everything else as in production).
    "SECURE_SSL_REDIRECT": "0",
    "DATABASE_CONN_MAX_AGE": "600",
    "DATA_DIR": str(_DATA_DIR),
    "LOG_LEVEL": "WARNING",
}


def recreate_database() -> None:
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


SEED_SQL = """
WITH p AS (
  INSERT INTO labeling_prompt (project_id, text, text_hash, category, split, source, metadata, created_at)
  SELECT %(project)s, 'Benchmark question ' || g || '?', encode(sha256(convert_to('Benchmark question ' || g || '?', 'UTF8')), 'hex'),
         'open_qa', 'train', 'imported', '{}'::jsonb, now()
  FROM generate_series(1, %(n)s) g
  RETURNING id
)
INSERT INTO labeling_sample (prompt_id, text, origin, generation, created_at)
SELECT p.id, 'Answer ' || k || ' to prompt ' || p.id || '.', 'imported', '{}'::jsonb, now()
FROM p CROSS JOIN generate_series(1, 4) k;

INSERT INTO labeling_task (project_id, prompt_id, kind, status, overlap, submitted_count, priority, created_at)
SELECT %(project)s, id, 'ranking', 'open', 1, 0, 0, now() FROM labeling_prompt WHERE project_id = %(project)s ORDER BY id;

INSERT INTO labeling_tasksample (task_id, sample_id, position)
SELECT t.id, s.id, row_number() OVER (PARTITION BY s.prompt_id ORDER BY s.id) - 1
FROM labeling_task t JOIN labeling_sample s ON s.prompt_id = t.prompt_id
WHERE t.project_id = %(project)s;
"""


def seed(clients: int):
    """Two projects, ``clients`` labelers with API tokens. Returns (big, small, tokens)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from labeling.models import Project
    from labeling.roles import LABELER

    big = Project.objects.create(name="Benchmark (100k)", slug="bench-big", k=4, overlap=1)
    small = Project.objects.create(name="Benchmark (1k)", slug="bench-small", k=4, overlap=1)
    with connection.cursor() as cursor:
        for project, n in ((big, BIG), (small, SMALL)):
            for statement in SEED_SQL.split(";\n"):
                if statement.strip():
                    cursor.execute(statement, {"project": project.pk, "n": n})
        # Vacuum now, not during the load: on freshly bulk-loaded tables autovacuum would
        # otherwise take CPU from the server in the first minute, and first reads would write
        # hint bits. The figures are the steady state.
        cursor.execute("VACUUM (ANALYZE)")
    group, _ = Group.objects.get_or_create(name=LABELER)
    User = get_user_model()
    tokens = []
    for i in range(clients + 2):
        user = User.objects.create_user(f"bench-labeler-{i}", password=LABELER_PASSWORD)
        user.groups.add(group)
        tokens.append(Token.objects.create(user=user).key)
    return big, small, tokens


def ranking_body(assignment: dict) -> dict:
    ids = [s["id"] for s in assignment["samples"]]
    return {"order": [[i] for i in ids], "scores": {str(i): 7 - n for n, i in enumerate(ids)}, "time_spent_ms": 1000}


def queries_per_request(slug: str, token: str) -> tuple[float, float]:
    """SQL queries of one next-task and one submit request, through the whole API stack."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    next_counts, submit_counts = [], []
    for _ in range(5):
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(f"/api/projects/{slug}/tasks/next/", {"kind": "ranking"}, content_type="application/json")
        assert response.status_code == 200, response.content
        next_counts.append(len(ctx.captured_queries))
        assignment = response.json()["assignment"]
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(f"/api/assignments/{assignment['id']}/submit/", ranking_body(assignment), content_type="application/json")
        assert response.status_code == 201, response.content
        submit_counts.append(len(ctx.captured_queries))
    return statistics.mean(next_counts), statistics.mean(submit_counts)


def explain_candidate(project_id: int, labeler_id: int) -> str:
    from django.db import connection
    from django.utils import timezone

    from labeling.services.assignments import _CANDIDATE_SQL

    sql = "EXPLAIN (ANALYZE, COSTS OFF) " + _CANDIDATE_SQL.format(lock="FOR UPDATE OF t SKIP LOCKED", exclude="")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"project": project_id, "kind": "ranking", "labeler": labeler_id, "now": timezone.now(), "exclude": []})
        return "\n".join(row[0] for row in cursor.fetchall())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--log-level", "warning",
    ]
    if threads > 1:
        cmd += ["--worker-class", "gthread", "--threads", str(threads)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **BENCH_ENV}, start_new_session=True)
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {proc.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/health/", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


class _Client:
    """One labeler's keep-alive HTTP connection (http.client: a thin client, so the load
    generator takes little of the CPU that the server and Postgres share with it)."""

    def __init__(self, port: int, slug: str, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.next_path = f"/api/projects/{slug}/tasks/next/"
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def _post(self, path: str, body: dict) -> dict:
        try:
            self.conn.request("POST", path, json.dumps(body), self.headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnects on the next request
            raise
        if response.status >= 400:
            raise RuntimeError(f"POST {path} -> {response.status}: {data[:200]!r}")
        return json.loads(data)

    def loop(self) -> bool:
        """One next-task + submit loop; False when the queue is empty."""
        assignment = self._post(self.next_path, {"kind": "ranking"})["assignment"]
        if assignment is None:
            return False
        self._post(f"/api/assignments/{assignment['id']}/submit/", ranking_body(assignment))
        return True


def load(port: int, slug: str, tokens: list[str], seconds: float, warmup: float, rate: float | None = None):
    """Each client loops next-task -> submit until the time is up. Returns the latencies of
    the loops that started after the warm-up.

    ``rate`` None: closed loop, each client starts its next loop as soon as the last one ends
    (the throughput the server can sustain). ``rate`` R: open loop at R loops/s in all, each
    client on its own fixed schedule (staggered); a loop's latency runs from its scheduled start,
    so a server that falls behind is charged for the queueing it causes."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(tokens) + 1)
    state = {"began": 0.0}
    interval = len(tokens) / rate if rate else 0.0

    def client(index: int, token: str) -> None:
        labeler = _Client(port, slug, token)
        mine: list[float] = []
        start.wait()
        began = state["began"]
        scheduled = began + index * interval / len(tokens)
        while True:
            now = time.perf_counter()
            if rate:
                if scheduled > now:
                    time.sleep(scheduled - now)
                t0 = scheduled
                scheduled += interval
            else:
                t0 = now
            if t0 >= began + warmup + seconds:
                break
            try:
                if not labeler.loop():
                    break
            except (OSError, RuntimeError, ValueError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(str(exc)[:200])
                continue
            if t0 >= began + warmup:
                mine.append(time.perf_counter() - t0)
        labeler.conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i, t), daemon=True) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    state["began"] = time.perf_counter() + 0.05
    start.wait()
    for t in threads:
        t.join(timeout=warmup + seconds + 60)
    if errors:
        print(f"{len(errors)} failed loops, first: {errors[0]}")
    return latencies


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    ordered = sorted(latencies)
    return ordered[len(ordered) // 2] * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per worker (1: sync workers)")
    parser.add_argument("--rate", type=float, default=200,
                        help="offered load (loops/s) of the latency run; 0: report the closed loop's latencies")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    os.environ.update(BENCH_ENV)
    recreate_database()
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        big, small, tokens = seed(args.clients)
        print(f"seeded {BIG:,} + {SMALL:,} ranking tasks (K=4) in {time.perf_counter() - started:.1f} s")

        counts = {}
        for project in (small, big):
            counts[project.slug] = queries_per_request(project.slug, tokens[-1] if project is big else tokens[-2])
            print(f"queries per request on {project.slug}: next={counts[project.slug][0]:.1f} submit={counts[project.slug][1]:.1f}")
        connection.close()

        port = free_port()
        server = start_gunicorn(port, args.workers, args.threads)
        kind = f"{args.workers} gthread workers x {args.threads} threads" if args.threads > 1 else f"{args.workers} sync workers"
        print(f"gunicorn ({kind}, DEBUG off) on 127.0.0.1:{port}; {args.clients} clients for {args.seconds:.0f} s after {args.warmup:.0f} s warm-up")
        # Prime the queue, then refresh the planner's statistics: right after seeding they say the
        # assignment tables are empty, and plans made for empty tables scan them whole once they
        # are not (throughput then decays until autovacuum's next ANALYZE, up to a minute away).
        # ANALYZE also makes every session re-plan its cached statements.
        load(port, big.slug, tokens[: args.clients], 5, 0)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE labeling_assignment, labeling_ranking, labeling_rankingentry, labeling_task")
        connection.close()
        closed = load(port, big.slug, tokens[: args.clients], args.seconds, args.warmup)
        if not closed:
            raise SystemExit("no loop completed")
        rps = len(closed) / args.seconds
        closed_p50, closed_p99 = percentiles(closed)
        print(f"closed loop (capacity): {len(closed)} loops in {args.seconds:.0f} s = {rps:.1f} loops/s, "
              f"p50 {closed_p50:.1f} ms, p99 {closed_p99:.1f} ms "
              f"({args.clients} clients / {rps:.0f} loops/s = {args.clients / rps * 1000:.0f} ms mean loop, Little's law)")
        p50, p99 = closed_p50, closed_p99
        if args.rate:
            paced = load(port, big.slug, tokens[: args.clients], args.seconds, args.warmup, rate=args.rate)
            if not paced:
                raise SystemExit("no loop completed at the target rate")
            p50, p99 = percentiles(paced)
            print(f"open loop at {args.rate:.0f} loops/s ({args.clients} clients on fixed schedules): {len(paced)} loops, "
                  f"achieved {len(paced) / args.seconds:.1f} loops/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms (from scheduled start)")
        from django.contrib.auth import get_user_model

        # After the load, so the plan is the one a busy queue gets (assignments, completed tasks).
        connection.cursor().execute("ANALYZE labeling_assignment; ANALYZE labeling_task")
        labeler = get_user_model().objects.get(username="bench-labeler-0")
        print("EXPLAIN ANALYZE of the queue's candidate query after the load (100k project):")
        print("  " + explain_candidate(big.pk, labeler.pk).replace("\n", "\n  "))
        big_next, big_submit = counts[big.slug]
        small_next, small_submit = counts[small.slug]
        print(f"queries per request do not grow with the project: 1k next/submit {small_next:.1f}/{small_submit:.1f}, "
              f"100k {big_next:.1f}/{big_submit:.1f}")
        print(f"rps={rps:.1f} p50_ms={p50:.1f} p99_ms={p99:.1f} queries_per_request={(big_next + big_submit) / 2:.1f}")
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            drop_database()
        shutil.rmtree(_DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
