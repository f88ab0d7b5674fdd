"""End to end on the real Postgres, the real Redis and real `celery -A config worker` processes
running the tiny model: a round closes the loop, and a SIGKILLed worker's job is resumed by the
next worker without ever running twice at once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.db import connection
from rest_framework.test import APIClient

from config.celery import app as celery_app
from labeling import services as labeling_services
from labeling.models import Demonstration, Ranking, Sample, Split, Task
from training.oracles.judging import noisy_ranking
from training.oracles.sky import oracle
from training.models import Checkpoint, TrainingJob, TrainingRound
from training.services import jobs
from tests.training.conftest import FAST_ROUND_CONFIG

ROOT = Path(__file__).resolve().parents[2]
# A Redis database of these tests' own, purged before each: no other suite's tasks reach
# these workers and none of theirs linger.
BROKER = os.environ.get("TRAINING_E2E_BROKER_URL", "redis://127.0.0.1:6379/13")

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _drop_connections():
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker():
    redis.Redis.from_url(BROKER).flushdb()
    # Django settings shadow conf.broker_url; publishing goes through broker_write_url.
    previous = celery_app.conf.broker_write_url
    celery_app.conf.broker_write_url = BROKER
    _drop_connections()  # the pools were built for the old URL
    yield BROKER
    celery_app.conf.broker_write_url = previous
    _drop_connections()
    redis.Redis.from_url(BROKER).flushdb()


@pytest.fixture
def start_worker(broker, data_dir, tmp_path):
    """Start a worker on the test database; every one started is stopped at the end."""
    started: list[subprocess.Popen] = []
    db = connection.settings_dict

    def start() -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": broker,
            "DATA_DIR": str(data_dir),
            "TRAINING_HEARTBEAT_EVERY_S": "1",
            "OMP_NUM_THREADS": "1",
        }
        log = open(tmp_path / f"worker-{len(started)}.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,training", "--concurrency", "1",
             "--loglevel", "INFO", "-n", f"e2e-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def wait_for(predicate, timeout: float, what: str, logs: Path, worker: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if worker.poll() is not None:
            break
        time.sleep(0.5)
    details = "".join(p.read_text()[-3000:] for p in sorted(logs.glob("worker-*.log")))
    raise AssertionError(f"gave up waiting for {what} (worker exit code {worker.poll()})\n{details}")


def schedule(client: APIClient, project, config: dict) -> int:
    response = client.post(f"/api/projects/{project.slug}/rounds/", {"config": config}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def work_queue(project, labeler, kind: str, answer) -> None:
    """The labeler claims tasks of ``kind`` over the API until none is left, submitting
    ``answer(assignment)`` for each."""
    client = APIClient()
    client.force_authenticate(labeler)
    while True:
        response = client.post(f"/api/projects/{project.slug}/tasks/next/", {"kind": kind}, format="json")
        assert response.status_code == 200, response.content
        assignment = response.json()["assignment"]
        if assignment is None:
            return
        submitted = client.post(f"/api/assignments/{assignment['id']}/submit/", answer(assignment), format="json")
        assert submitted.status_code == 201, submitted.content


def label_through_api(project, labeler) -> list[Demonstration]:
    """A labeler claims every demonstration task over the API and submits the oracle's answer."""
    for prompt in project.prompts.filter(split=Split.TRAIN):
        Task.objects.get_or_create(project=project, prompt=prompt, kind=Task.Kind.DEMONSTRATION)
    work_queue(project, labeler, "demonstration", lambda a: {"text": oracle.ideal(a["prompt"]["text"]), "time_spent_ms": 1200})
    demos = list(Demonstration.objects.filter(prompt__project=project))
    assert len(demos) == project.prompts.filter(split=Split.TRAIN).count()
    return demos


def rank_through_api(project, labeler, n: int) -> list[Ranking]:
    """Ranking tasks of four made-up answers for the first n train prompts; the labeler claims
    each over the API and submits the oracle's order, as the simulated labelers do."""
    for prompt in project.prompts.filter(split=Split.TRAIN).order_by("id")[:n]:
        answer = oracle.ideal(prompt.text)
        samples = labeling_services.samples_create(prompt=prompt, texts=[answer, f"{answer} I think", "Maybe", "It depends on the day"])
        labeling_services.ranking_task_create(prompt=prompt, samples=samples)
    rng = random.Random(0)

    def answer(assignment: dict) -> dict:
        samples = assignment["samples"]
        groups = noisy_ranking(oracle, assignment["prompt"]["text"], [s["text"] for s in samples], noise=0.1, rng=rng)
        return {
            "order": [[samples[i]["id"] for i in group] for group in groups],
            "scores": {str(samples[i]["id"]): 7 - rank for rank, group in enumerate(groups) for i in group},
            "time_spent_ms": 2500,
        }

    work_queue(project, labeler, "ranking", answer)
    rankings = list(Ranking.objects.filter(task__project=project))
    assert len(rankings) == n
    return rankings


def test_a_round_closes_the_loop(project, admin_user, labeler, start_worker, tmp_path):
    worker = start_worker()
    demos = label_through_api(project, labeler)
    client = APIClient()
    client.force_authenticate(admin_user)
    round_id = schedule(client, project, FAST_ROUND_CONFIG)
    done = wait_for(lambda: TrainingRound.objects.filter(id=round_id).exclude(status="running").exclude(status="scheduled").first(),
                    180, "the round to finish", tmp_path, worker)
    assert done.status == "succeeded", (done.message, list(done.jobs.values_list("stage", "status", "message")))

    sft = Checkpoint.objects.get(round=done, stage="sft")
    assert sft.snapshot_id == done.snapshot_id
    assert sorted(sft.snapshot.demonstration_ids) == sorted(d.id for d in demos)
    assert sft.parent.stage == "base"
    assert (Path(tmp_path) / sft.path / "model.safetensors").exists()
    tasks = Task.objects.filter(project=project, kind="ranking", round_number=done.number)
    assert tasks.count() == len(project.prompts.filter(split="train"))
    samples = Sample.objects.filter(task_links__task__in=tasks)
    assert samples.count() == tasks.count() * project.k
    assert set(samples.values_list("checkpoint_id", flat=True)) == {sft.id}, "samples come from the new policy"
    sft.refresh_from_db()
    assert len(sft.eval_samples) == project.prompts.filter(split="eval").count()

    detail = client.get(f"/api/rounds/{round_id}/").json()
    assert [j["stage"] for j in detail["jobs"]] == ["sft", "reward", "ppo", "sample"]
    assert detail["jobs"][0]["step"] == detail["jobs"][0]["total_steps"] > 0
    lineage = client.get(f"/api/checkpoints/{sft.id}/").json()["lineage"]
    assert [c["stage"] for c in lineage] == ["sft", "base"]


def test_sigkilled_worker_job_is_resumed_by_the_next_worker(project, admin_user, labeler, start_worker, tmp_path):
    label_through_api(project, labeler)
    rankings = rank_through_api(project, labeler, 8)
    # Steps of about half a second, so the test sees PPO running past step 3 and kills it mid-stage.
    config = {**FAST_ROUND_CONFIG, "ppo": {
        **FAST_ROUND_CONFIG["ppo"], "steps": 12, "save_every": 1, "rollout_batch_size": 32, "minibatch_size": 8, "ppo_epochs": 2,
    }}
    first = start_worker()
    client = APIClient()
    client.force_authenticate(admin_user)
    round_id = schedule(client, project, config)

    def ppo_job():
        return TrainingJob.objects.filter(round_id=round_id, stage="ppo").first()

    wait_for(lambda: (j := ppo_job()) and j.status == "running" and j.step >= 3, 180, "PPO to pass step 3", tmp_path, first)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = ppo_job().step
    assert ppo_job().status == "running", "the dead worker's job still looks running"

    second = start_worker()
    # A duplicated message for the orphaned job does nothing while its heartbeat is fresh.
    assert jobs.job_run(job_id=ppo_job().id, worker="test-duplicate") == "noop"
    time.sleep(3)
    assert jobs.jobs_sweep(stale_after_s=2)["requeued"] == 1
    done = wait_for(lambda: TrainingRound.objects.filter(id=round_id).exclude(status="running").first(), 180,
                    "the round to finish after the restart", tmp_path, second)
    assert second.poll() is None
    assert done.status == "succeeded", (done.message, list(done.jobs.values_list("stage", "status", "message")))
    job = ppo_job()
    assert job.attempts == 2 and job.status == "succeeded"
    assert "resuming from the state saved at step" in job.log_tail, job.log_tail
    resumed_from = int(job.log_tail.split("resuming from the state saved at step ")[1].split()[0])
    # Heartbeats are throttled, so the row may lag the state on disk; either way the new worker
    # started mid-stage, neither from scratch nor from the end.
    assert killed_at >= 3 and 1 <= resumed_from < 12, (killed_at, resumed_from)
    assert [p["step"] for p in job.metrics] == list(range(1, 13)), "each step recorded once, in order"
    assert Checkpoint.objects.filter(round_id=round_id, stage="ppo").count() == 1
    samples = Sample.objects.filter(round_number=done.number, prompt__project=project)
    assert set(samples.values_list("checkpoint_id", flat=True)) == {Checkpoint.objects.get(round_id=round_id, stage="ppo").id}
    assert sorted(done.snapshot.ranking_ids) == sorted(r.id for r in rankings), "the API's rankings are what trained"
