"""The loop learns: two rounds with oracle labelers (in-process, demo settings, tiny model)
raise the oracle's held-out score of the final policy clearly above the round-1 SFT policy's."""

from __future__ import annotations

import random
from unittest import mock

import pytest

from labeling.models import Demonstration, Prompt, Ranking, RankingEntry, Split, Task
from training.models import Checkpoint, TrainingJob, TrainingRound
from training.oracles.judging import mean_score, noisy_order, win_rate
from training.oracles.sky import oracle
from training.services import jobs, rounds
from tests.training.conftest import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def run_round(project) -> TrainingRound:
    """Schedule a round with the demo defaults and run its jobs here, in order, as a worker would."""
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay"):
        round_ = rounds.round_schedule(project=project, config={"runtime": {"device": "cpu"}})
        rounds.round_start(round_id=round_.id)
        while (job := TrainingJob.objects.filter(round=round_, status="queued").order_by("order").first()) is not None:
            assert jobs.job_run(job_id=job.id, worker="test") == "succeeded", TrainingJob.objects.get(id=job.id).message
    round_.refresh_from_db()
    assert round_.status == "succeeded", round_.message
    return round_


def rank_open_tasks(project, labelers, rng):
    for task in Task.objects.filter(project=project, kind="ranking", status="open").prefetch_related("task_samples__sample"):
        samples = [ts.sample for ts in task.task_samples.all()]
        for labeler in labelers[: task.overlap]:
            order = noisy_order(oracle, task.prompt.text, [s.text for s in samples], noise=0.1, rng=rng)
            ranking = Ranking.objects.create(task=task, labeler=labeler, order=[[samples[i].id] for i in order])
            RankingEntry.objects.bulk_create(
                RankingEntry(ranking=ranking, sample=samples[i], rank=rank, score=4) for rank, i in enumerate(order, start=1)
            )
        Task.objects.filter(id=task.id).update(status="complete", submitted_count=task.overlap)


def test_two_oracle_rounds_beat_the_sft_policy(project, data_dir):
    rng = random.Random(0)
    labelers = [make_user("labeler") for _ in range(3)]
    project.overlap = 3
    project.save()
    for prompt in Prompt.objects.filter(project=project, split=Split.TRAIN):
        Demonstration.objects.create(prompt=prompt, labeler=labelers[0], text=oracle.ideal(prompt.text))

    first = run_round(project)
    sft = Checkpoint.objects.get(round=first, stage="sft")
    rank_open_tasks(project, labelers, rng)
    second = run_round(project)
    final = Checkpoint.objects.get(round=second, stage="ppo")

    sft_score, policy_score = mean_score(oracle, sft.eval_samples), mean_score(oracle, final.eval_samples)
    wins = win_rate(oracle, final.eval_samples, sft.eval_samples)
    print(f"sft_score={sft_score:.3f} policy_score={policy_score:.3f} win_rate_vs_sft={wins:.3f}")
    assert policy_score > sft_score + 0.1, (sft_score, policy_score)
    assert wins > 0.6, wins
