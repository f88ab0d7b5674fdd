"""Flow decisions of a round: scheduling, snapshot, which stages run or are skipped, and that
work is enqueued only once the transaction commits."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from config.errors import ApplicationError, Conflict
from labeling.models import Demonstration, Prompt, Split
from training.models import Checkpoint, TrainingJob, TrainingRound
from training.oracles.sky import oracle
from training.services import rounds, stages, storage
from training.services.round_config import DEFAULT_ROUND_CONFIG, round_config_validate
from tests.training.conftest import add_demonstrations, add_rankings, make_user

pytestmark = pytest.mark.django_db


def test_schedule_enqueues_the_start_only_on_commit(project, admin_user, django_capture_on_commit_callbacks):
    with mock.patch("training.tasks.round_start.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            round_ = rounds.round_schedule(project=project, scheduled_by=admin_user)
        assert delay.call_count == 0, "nothing may be sent before the round row is committed"
        for callback in callbacks:
            callback()
    delay.assert_called_once_with(round_.id)
    assert round_.number == 1 and round_.status == TrainingRound.Status.SCHEDULED
    assert round_.config["sft"]["epochs"] == DEFAULT_ROUND_CONFIG["sft"]["epochs"]


def test_a_second_round_while_one_is_active_is_a_conflict(project, admin_user):
    with mock.patch("training.tasks.round_start.delay"):
        rounds.round_schedule(project=project)
        with pytest.raises(Conflict, match="still scheduled"):
            rounds.round_schedule(project=project)


def test_a_future_round_waits_for_the_tick(project, django_capture_on_commit_callbacks):
    with mock.patch("training.tasks.round_start.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            round_ = rounds.round_schedule(project=project, start_at=timezone.now() + timedelta(hours=1))
        assert delay.call_count == 0 and round_.trigger == TrainingRound.Trigger.SCHEDULED
        assert rounds.round_start(round_id=round_.id) is None, "not due yet"
        TrainingRound.objects.filter(id=round_.id).update(start_at=timezone.now() - timedelta(seconds=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert rounds.rounds_tick()["started"] == 1
        delay.assert_called_once_with(round_.id)


def test_empty_project_skips_training_and_samples_from_the_base_model(project, django_capture_on_commit_callbacks):
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay") as job_delay:
        round_ = rounds.round_schedule(project=project)
        with django_capture_on_commit_callbacks(execute=True):
            rounds.round_start(round_id=round_.id)
    jobs = {j.stage: j for j in TrainingJob.objects.filter(round=round_)}
    assert [jobs[s].status for s in ("sft", "reward", "ppo", "sample")] == ["skipped", "skipped", "skipped", "queued"]
    assert "0 train demonstrations" in jobs["sft"].message
    assert "0 usable rankings" in jobs["reward"].message
    job_delay.assert_called_once_with(str(jobs["sample"].id))
    assert rounds.round_start(round_id=round_.id) is None, "a duplicated start message does nothing"


def test_snapshot_freezes_exact_ids_and_plans_every_stage(project, labeler, django_capture_on_commit_callbacks):
    demos = add_demonstrations(project, labeler)
    usable = add_rankings(project, labeler, 5)
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay"):
        round_ = rounds.round_schedule(project=project)
        rounds.round_start(round_id=round_.id)
    add_demonstrations(project, labeler, 1)  # arrives after the freeze
    round_.refresh_from_db()
    snap = round_.snapshot
    assert sorted(snap.demonstration_ids) == sorted(d.id for d in demos)
    assert sorted(snap.ranking_ids) == sorted(r.id for r in usable)
    assert snap.counts["rankings_usable"] == 5
    statuses = list(round_.jobs.order_by("order").values_list("stage", "status"))
    assert statuses == [("sft", "queued"), ("reward", "queued"), ("ppo", "queued"), ("sample", "queued")]


def test_all_tied_rankings_do_not_count_as_preference(project, labeler):
    add_demonstrations(project, labeler)
    add_rankings(project, labeler, 6, tied=True)
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay"):
        round_ = rounds.round_schedule(project=project, config={"algorithm": "dpo"})
        rounds.round_start(round_id=round_.id)
    stages = dict(round_.jobs.values_list("stage", "status"))
    assert stages == {"sft": "queued", "dpo": "skipped", "sample": "queued"}


@pytest.mark.parametrize(
    "config, field",
    [
        ({"sft": {"epochs": "many"}}, "config.sft.epochs"),
        ({"sft": {"nope": 1}}, "config.sft.nope"),
        ({"algorithm": "ddpg"}, "config.algorithm"),
        ({"bogus": 1}, "config.bogus"),
        ({"ppo": []}, "config.ppo"),
        ({"min_rankings": True}, "config.min_rankings"),
    ],
)
def test_bad_config_names_the_field(config, field):
    with pytest.raises(ApplicationError) as caught:
        round_config_validate(config)
    assert caught.value.details["field"] == field


def test_rankings_threshold_schedules_a_round(project, labeler, django_capture_on_commit_callbacks):
    rounds.round_schedule_set(project=project, every_hours=None, rankings_threshold=3)
    add_rankings(project, labeler, 2)
    with mock.patch("training.tasks.round_start.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            assert rounds.rounds_tick()["scheduled"] == 0
            add_rankings(project, labeler, 3)
            assert rounds.rounds_tick()["scheduled"] == 1
            assert rounds.rounds_tick()["scheduled"] == 0, "one active round at a time"
    round_ = TrainingRound.objects.get(project=project)
    assert round_.trigger == TrainingRound.Trigger.RANKINGS
    delay.assert_called_once_with(round_.id)


def test_cancel_stops_queued_jobs_and_flags_the_running_one(project, labeler):
    add_demonstrations(project, labeler)
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay"):
        round_ = rounds.round_schedule(project=project)
        rounds.round_start(round_id=round_.id)
    sft = round_.jobs.get(stage="sft")
    TrainingJob.objects.filter(id=sft.id).update(status="running", lease_id=sft.id, heartbeat_at=timezone.now())
    rounds.round_cancel(round_id=round_.id)
    sft.refresh_from_db()
    assert sft.cancel_requested and sft.status == "running"
    assert round_.jobs.get(stage="sample").status == "cancelled"
    with pytest.raises(Conflict):
        rounds.round_cancel(round_id=round_.id)


def _start_round(project) -> TrainingRound:
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay"):
        round_ = rounds.round_schedule(project=project)
        rounds.round_start(round_id=round_.id)
    round_.refresh_from_db()
    return round_


def test_sft_trains_only_on_demonstrations_it_has_not_seen(project, labeler, tmp_path):
    add_demonstrations(project, labeler)
    add_demonstrations(project, make_user("labeler"))  # a second labeler wrote the same answers
    first = _start_round(project)
    assert first.snapshot.counts["demonstrations"] == 40
    assert first.snapshot.counts["demonstrations_train"] == first.snapshot.counts["demonstrations_new"] == 20
    train, eval_ = stages.snapshot_demonstrations(first.snapshot)
    assert len(train) + len(eval_) == 20, "copies of one answer count once"
    assert {d.prompt for d in train}.isdisjoint({d.prompt for d in eval_}), "held out by prompt"
    # Round 1's SFT succeeded (its row is what later rounds look at) and the round ended.
    Checkpoint.objects.create(project=project, stage="sft", path="sft", snapshot=first.snapshot, round=first)
    TrainingRound.objects.filter(id=first.id).update(status="succeeded")

    second = _start_round(project)
    sft = second.jobs.get(stage="sft")
    assert sft.status == "skipped" and "0 demonstrations arrived since the last SFT checkpoint" in sft.message
    TrainingRound.objects.filter(id=second.id).update(status="succeeded")

    prompts = list(Prompt.objects.filter(project=project, split=Split.TRAIN).order_by("id")[:4])
    for prompt in prompts:
        Demonstration.objects.create(prompt=prompt, labeler=labeler, text=f"{oracle.ideal(prompt.text)}.")
    third = _start_round(project)
    assert third.snapshot.counts["demonstrations_new"] == 4
    assert third.jobs.get(stage="sft").status == "queued"

    # It trains the base model on all 24, not round 1's SFT model for another round of epochs.
    class _Captured(Exception):
        pass

    with mock.patch("training.ml.stages.train_sft", side_effect=_Captured) as train_sft:
        with pytest.raises(_Captured):
            stages._run_sft(job=third.jobs.get(stage="sft"), lease=mock.Mock(), out_rel="sft-3", out_abs=tmp_path)
    demos, held_out = train_sft.call_args.args[1:3]
    assert len(demos) + len(held_out) == 24
    assert train_sft.call_args.kwargs["parent"] == storage.absolute(stages.base_checkpoint(project).path)


def test_ranking_tasks_per_prompt_must_be_positive():
    assert round_config_validate({"ranking_tasks_per_prompt": 2})["ranking_tasks_per_prompt"] == 2
    with pytest.raises(ApplicationError) as caught:
        round_config_validate({"ranking_tasks_per_prompt": 0})
    assert caught.value.details["field"] == "config.ranking_tasks_per_prompt"


def test_model_text_loses_the_nul_bytes_postgres_cannot_store():
    assert stages._storable("Bl\x00ue") == "Blue"
