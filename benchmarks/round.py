"""Wall time of a training round on the tiny model on CPU, with the demo settings, split by
stage, and the share spent outside training and sampling.

Runs in-process on a scratch SQLite database and DATA_DIR, set up as `simulate_labelers` sets
up its project. A first round (SFT from the base model, then samples) gives the sky oracle's
labelers something to rank; the second round is the one measured: reward model -> PPO ->
sampling (SFT is skipped, as no demonstration is new; its time is printed with round 1).
Usage: python -m benchmarks.round
Last line: round_s=... overhead_share=...
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from contextlib import contextmanager
from unittest import mock

SCRATCH = tempfile.mkdtemp(prefix="round-bench-")
os.environ["DATA_DIR"] = SCRATCH
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

import training.ml.sampling  # noqa: E402
import training.ml.scoring  # noqa: E402
import training.ml.stages  # noqa: E402
from labeling.models import Demonstration, Project, Prompt, Ranking, RankingEntry, Split, Task  # noqa: E402
from training.models import TrainingJob  # noqa: E402
from training.oracles.judging import noisy_ranking  # noqa: E402
from training.oracles.sky import oracle  # noqa: E402
from training.services import jobs, rounds  # noqa: E402

ML_TIME = {"s": 0.0}


@contextmanager
def timed_ml():
    """Count the time spent inside training.ml's stage, sampling and scoring calls."""
    targets = [
        (training.ml.stages, "train_sft"), (training.ml.stages, "train_reward_model"), (training.ml.stages, "train_ppo"),
        (training.ml.stages, "train_dpo"), (training.ml.sampling, "generate"), (training.ml.scoring, "score"),
    ]
    patches = []
    for module, name in targets:
        real = getattr(module, name)

        def wrapper(*args, _real=real, **kwargs):
            started = time.perf_counter()
            try:
                return _real(*args, **kwargs)
            finally:
                ML_TIME["s"] += time.perf_counter() - started

        patches.append(mock.patch.object(module, name, wrapper))
    for p in patches:
        p.start()
    try:
        yield
    finally:
        for p in patches:
            p.stop()


def run_round(project) -> tuple[float, dict[str, float]]:
    per_stage = {}
    started = time.perf_counter()
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay"):
        round_ = rounds.round_schedule(project=project, config={"runtime": {"device": "cpu"}})
        rounds.round_start(round_id=round_.id)
        while (job := TrainingJob.objects.filter(round=round_, status="queued").order_by("order").first()) is not None:
            t = time.perf_counter()
            outcome = jobs.job_run(job_id=job.id, worker="bench")
            per_stage[job.stage] = time.perf_counter() - t
            assert outcome == "succeeded", TrainingJob.objects.get(id=job.id).message
    return time.perf_counter() - started, per_stage


def main() -> None:
    call_command("migrate", verbosity=0)
    rng = random.Random(0)
    from django.contrib.auth.models import User

    labelers = [User.objects.create_user(f"bench{i}") for i in range(3)]
    # As simulate_labelers sets it up: three labelers on every task, K = 9.
    project = Project.objects.create(name="Bench", slug="bench", overlap=3, k=9)
    for text in oracle.train_prompts():
        prompt = Prompt.objects.create(project=project, text=text, split=Split.TRAIN)
        for labeler in labelers:
            Demonstration.objects.create(prompt=prompt, labeler=labeler, text=oracle.ideal(text))
    for text in oracle.eval_prompts():
        Prompt.objects.create(project=project, text=text, split=Split.EVAL)
    call_command("bootstrap_tiny_model")
    first_s, first_stages = run_round(project)
    print(f"round 1 (SFT + samples, no rankings yet): {first_s:.1f}s")
    for stage, seconds in first_stages.items():
        print(f"  {stage:>7}: {seconds:6.1f}s")
    print("round 2 (the measured one):")
    for task in Task.objects.filter(project=project, kind="ranking", status="open").prefetch_related("task_samples__sample"):
        samples = [ts.sample for ts in task.task_samples.all()]
        for labeler in labelers:
            groups = noisy_ranking(oracle, task.prompt.text, [s.text for s in samples], noise=0.1, rng=rng)
            ranking = Ranking.objects.create(task=task, labeler=labeler, order=[[samples[i].id for i in g] for g in groups])
            RankingEntry.objects.bulk_create(
                RankingEntry(ranking=ranking, sample=samples[i], rank=rank, score=4)
                for rank, group in enumerate(groups, start=1)
                for i in group
            )
        Task.objects.filter(id=task.id).update(status="complete", submitted_count=task.overlap)
    ML_TIME["s"] = 0.0
    with timed_ml():
        round_s, per_stage = run_round(project)
    for stage, seconds in per_stage.items():
        print(f"  {stage:>7}: {seconds:6.1f}s")
    overhead = max(0.0, round_s - ML_TIME["s"])
    print(f"training+sampling {ML_TIME['s']:.1f}s, orchestration {overhead:.2f}s")
    print(f"round_s={round_s:.1f} overhead_share={overhead / round_s:.3f}")


if __name__ == "__main__":
    main()
