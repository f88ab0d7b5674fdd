"""The loop learns from rankings: two rounds with oracle labelers (in-process, demo settings, tiny
model) raise the oracle's held-out score of the final policy clearly above the round-1 SFT
policy's. Set up as `simulate_labelers` sets up its project: three labelers on every task (so
three copies of each demonstration), K = 9, ties where a labeler has no preference.

On a model this small one training run is a noisy draw: the same seed trains differently on
CPUs with different vector units (AVX2 vs AVX-512 kernels). So the reward model and PPO are
trained twice from the same rankings (round 2, and round 3 as its replicate with another
seed, nothing new ranked in between), and the gain is judged on the two runs' average per
held-out prompt."""

from __future__ import annotations

import random
from unittest import mock

import pytest

from labeling.models import Demonstration, Prompt, Ranking, RankingEntry, Split, Task
from training.models import Checkpoint, TrainingJob, TrainingRound
from training.oracles.judging import mean_score, noisy_ranking, win_rate
from training.oracles.sky import oracle
from training.services import jobs, rounds
from tests.training.conftest import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def run_round(project, seed: int = 0) -> TrainingRound:
    """Schedule a round with the demo defaults and run its jobs here, in order, as a worker would."""
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay"):
        round_ = rounds.round_schedule(project=project, config={"runtime": {"device": "cpu", "seed": seed}})
        rounds.round_start(round_id=round_.id)
        while (job := TrainingJob.objects.filter(round=round_, status="queued").order_by("order").first()) is not None:
            assert jobs.job_run(job_id=job.id, worker="test") == "succeeded", TrainingJob.objects.get(id=job.id).message
    round_.refresh_from_db()
    assert round_.status == "succeeded", round_.message
    return round_


def rank_open_tasks(project, labelers, rng) -> int:
    """Every labeler ranks every open ranking task as the simulated labelers do; returns how many."""
    n = 0
    for task in Task.objects.filter(project=project, kind="ranking", status="open").prefetch_related("task_samples__sample"):
        samples = [ts.sample for ts in task.task_samples.all()]
        for labeler in labelers[: task.overlap]:
            groups = noisy_ranking(oracle, task.prompt.text, [s.text for s in samples], noise=0.1, rng=rng)
            ranking = Ranking.objects.create(task=task, labeler=labeler, order=[[samples[i].id for i in g] for g in groups])
            RankingEntry.objects.bulk_create(
                RankingEntry(ranking=ranking, sample=samples[i], rank=rank, score=max(1, 8 - rank))
                for rank, group in enumerate(groups, start=1)
                for i in group
            )
            n += 1
        Task.objects.filter(id=task.id).update(status="complete", submitted_count=task.overlap)
    return n


def test_two_oracle_rounds_beat_the_sft_policy(project, data_dir):
    rng = random.Random(0)
    labelers = [make_user("labeler") for _ in range(3)]
    project.overlap, project.k = 3, 9
    project.save()
    for prompt in Prompt.objects.filter(project=project, split=Split.TRAIN):
        for labeler in labelers:
            Demonstration.objects.create(prompt=prompt, labeler=labeler, text=oracle.ideal(prompt.text))

    first = run_round(project)
    sft = Checkpoint.objects.get(round=first, stage="sft")
    assert first.snapshot.counts["demonstrations_train"] == len(oracle.train_prompts()), "copies count once"
    assert Task.objects.filter(project=project, kind="ranking", round_number=1).count() == 3 * len(oracle.train_prompts())
    assert rank_open_tasks(project, labelers, rng) == 9 * len(oracle.train_prompts())

    second = run_round(project)
    replicate = run_round(project, seed=1)  # the same rankings (round 2's new tasks stay unranked)
    finals = []
    for round_ in (second, replicate):
        assert "0 demonstrations arrived since the last SFT checkpoint" in round_.jobs.get(stage="sft").message
        final = Checkpoint.objects.get(round=round_, stage="ppo")
        # The whole gain is the rankings': PPO started from round 1's SFT model, not a retrained one.
        assert final.parent_id == sft.id and Checkpoint.objects.get(round=round_, stage="reward").parent_id == sft.id
        assert round_.snapshot.counts["rankings"] == 9 * len(oracle.train_prompts())
        finals.append(final)

    sft_score = mean_score(oracle, sft.eval_samples)
    diffs = [per_prompt_gain(sft.eval_samples, final.eval_samples) for final in finals]
    gain = {prompt: sum(d[prompt] for d in diffs) / len(diffs) for prompt in diffs[0]}
    wins = sum(win_rate(oracle, final.eval_samples, sft.eval_samples) for final in finals) / len(finals)
    t = t_statistic(list(gain.values()))
    for final, d in zip(finals, diffs):
        print(f"seed {final.round.config['runtime']['seed']}: policy_score={mean_score(oracle, final.eval_samples):.3f} "
              f"win_rate_vs_sft={win_rate(oracle, final.eval_samples, sft.eval_samples):.3f} paired_t={t_statistic(list(d.values())):.2f}")
    mean_gain = sum(gain.values()) / len(gain)
    print(f"sft_score={sft_score:.3f} mean_gain={mean_gain:.3f} win_rate_vs_sft={wins:.3f} paired_t={t:.2f}")
    assert mean_gain > 0.1, (sft_score, mean_gain)
    assert wins > 0.55, wins
    assert t > 2, f"the gain is within the noise of the {len(gain)} held-out prompts (t={t:.2f})"


def per_prompt_gain(baseline: list[dict], policy: list[dict]) -> dict[str, float]:
    """Per held-out prompt, the policy's mean oracle score minus the baseline's."""
    base = {row["prompt"]: row["completions"] for row in baseline}
    return {
        row["prompt"]: mean_score(oracle, [row]) - mean_score(oracle, [{"prompt": row["prompt"], "completions": base[row["prompt"]]}])
        for row in policy
    }


def t_statistic(diffs: list[float]) -> float:
    """How many standard errors the mean of ``diffs`` is away from zero (a paired t over prompts)."""
    mean = sum(diffs) / len(diffs)
    var = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
    return mean / (var / len(diffs)) ** 0.5 if var > 0 else float("inf")
