"""The job row decides what runs: leases, duplicated messages, heartbeats, the sweeper, retry."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from training.models import TrainingJob, TrainingRound
from training.services import jobs, rounds
from tests.training.conftest import add_demonstrations


@pytest.fixture
def sft_job(project, labeler):
    add_demonstrations(project, labeler)
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay"):
        round_ = rounds.round_schedule(project=project)
        rounds.round_start(round_id=round_.id)
    return round_.jobs.get(stage="sft")


@pytest.mark.django_db
def test_a_second_claim_of_a_running_job_is_a_noop(sft_job, settings):
    lease = jobs.job_claim(job_id=sft_job.id, worker="w1")
    assert lease is not None and lease.attempt == 1
    assert jobs.job_claim(job_id=sft_job.id, worker="w2") is None
    sft_job.refresh_from_db()
    assert sft_job.worker == "w1" and sft_job.attempts == 1 and sft_job.status == "running"


@pytest.mark.django_db
def test_duplicated_message_does_not_start_a_second_run(sft_job):
    """job_run for a job another worker is running returns without calling the stage."""
    jobs.job_claim(job_id=sft_job.id, worker="w1")
    with mock.patch("training.services.stages.stage_execute") as execute:
        assert jobs.job_run(job_id=sft_job.id, worker="w2") == "noop"
    execute.assert_not_called()


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_give_exactly_one_lease(sft_job):
    barrier = threading.Barrier(4)
    results = []

    def claim(name):
        barrier.wait()
        try:
            results.append(jobs.job_claim(job_id=sft_job.id, worker=name))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    assert TrainingJob.objects.get(id=sft_job.id).attempts == 1


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_cannot_write(sft_job):
    old = jobs.job_claim(job_id=sft_job.id, worker="w1")
    TrainingJob.objects.filter(id=sft_job.id).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with mock.patch("training.tasks.job_run.delay"):
        assert jobs.jobs_sweep(stale_after_s=60)["requeued"] == 1
    new = jobs.job_claim(job_id=sft_job.id, worker="w2")
    assert new.attempt == 2
    with pytest.raises(jobs.LeaseLost):
        old.heartbeat(step=3, total=10, force=True)
    new.heartbeat(step=3, total=10, force=True)
    sft_job.refresh_from_db()
    assert (sft_job.worker, sft_job.step, sft_job.total_steps) == ("w2", 3, 10)


@pytest.mark.django_db
def test_sweeper_requeues_then_fails_after_max_attempts(sft_job, django_capture_on_commit_callbacks):
    stale = timezone.now() - timedelta(hours=1)
    with mock.patch("training.tasks.job_run.delay") as delay:
        for attempt in (1, 2):
            jobs.job_claim(job_id=sft_job.id, worker=f"w{attempt}")
            TrainingJob.objects.filter(id=sft_job.id).update(heartbeat_at=stale)
            with django_capture_on_commit_callbacks(execute=True):
                counts = jobs.jobs_sweep(stale_after_s=60, max_attempts=2)
            if attempt == 1:
                assert counts["requeued"] == 1
                delay.assert_called_once_with(str(sft_job.id))
    assert counts["failed"] == 1
    sft_job.refresh_from_db()
    assert sft_job.status == "failed" and "Gave up after 2 attempts" in sft_job.message
    assert TrainingRound.objects.get(id=sft_job.round_id).status == "failed"
    assert jobs.jobs_sweep(stale_after_s=60)["requeued"] == 0, "a fresh heartbeat is never swept"


@pytest.mark.django_db
def test_retry_requeues_a_failed_job_and_the_round(sft_job, django_capture_on_commit_callbacks):
    lease = jobs.job_claim(job_id=sft_job.id, worker="w1")
    jobs.job_fail(lease=lease, message="RuntimeError: boom")
    assert TrainingRound.objects.get(id=sft_job.round_id).status == "failed"
    with mock.patch("training.tasks.job_run.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            jobs.job_retry(job_id=sft_job.id)
    delay.assert_called_once_with(str(sft_job.id))
    sft_job.refresh_from_db()
    assert sft_job.status == "queued" and sft_job.attempts == 0
    assert TrainingRound.objects.get(id=sft_job.round_id).status == "running"


@pytest.mark.django_db
def test_metrics_are_json_safe_and_resumed_points_replaced(sft_job):
    lease = jobs.job_claim(job_id=sft_job.id, worker="w1")
    for step in (1, 2, 3):
        lease.progress(step, 5, {"loss": float("nan") if step == 2 else 1.0 / step})
    lease.progress(2, 5, {"loss": 0.4})  # a resumed run redoes step 2
    lease.heartbeat(force=True)
    sft_job.refresh_from_db()
    assert [p["step"] for p in sft_job.metrics] == [1, 2]
    assert sft_job.metrics[-1]["loss"] == 0.4
