"""What each stage of a round does: its data from the frozen snapshot, its parent checkpoint,
the `training.ml` call, and the checkpoint row it leaves behind.

This module is the adapter between database rows and the pure library: rows in, plain
dataclasses to `training.ml`, a checkpoint path and metrics back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from labeling import selectors as labeling_selectors
from labeling import services as labeling_services
from labeling.models import Split
from training.ml.data import Demonstration, RankedPrompt, distinct_completions, preference_pairs
from training.models import Checkpoint, DataSnapshot, TrainingJob, TrainingRound
from training.services import storage
from training.services.jobs import Lease, json_safe
from training.services.round_config import stage_config

Stage = TrainingJob.Stage
POLICY_STAGES = (Checkpoint.Stage.PPO, Checkpoint.Stage.DPO, Checkpoint.Stage.SFT)
# Eval completions use a fixed seed so policies of different rounds are compared on equal terms.
EVAL_SEED = 1234


@dataclass
class StageOutcome:
    """stopped: ended early on a cancel request. checkpoint: the Checkpoint row's fields.
    after: more writes to make in the transaction that marks the job succeeded."""

    stopped: bool = False
    message: str = ""
    checkpoint: dict | None = None
    after: Callable[[TrainingJob], None] | None = None


# --- data ---------------------------------------------------------------------------------


def _hold_out(train: list, eval_: list) -> tuple[list, list]:
    # Without an eval split, every 10th prompt measures the stage instead of training it. By
    # prompt, not by row: several labelers' work on one prompt must not sit on both sides.
    if eval_:
        return train, eval_
    prompts = list(dict.fromkeys(x.prompt for x in train))
    if len(prompts) < 10:
        return train, eval_
    held = set(prompts[9::10])
    return [x for x in train if x.prompt not in held], [x for x in train if x.prompt in held]


def snapshot_demonstrations(snapshot: DataSnapshot) -> tuple[list[Demonstration], list[Demonstration]]:
    """The snapshot's distinct demonstrations as (train, eval), split by their prompt's split.

    Labelers who wrote the same text for a prompt (a task with overlap, a short factual
    answer) count once: copies would multiply that prompt's weight and every epoch's steps.
    """
    rows = labeling_selectors.training_demonstrations(project=snapshot.project, ids=snapshot.demonstration_ids)
    train, eval_ = {}, {}
    for d in rows:
        (eval_ if d.prompt.split == Split.EVAL else train).setdefault(Demonstration(d.prompt.text, d.text), None)
    return _hold_out(list(train), list(eval_))


def ranking_as_ranked_prompt(ranking) -> RankedPrompt | None:
    """A labeling Ranking (entries prefetched) as the library's RankedPrompt, each distinct text
    once at its best rank; None when it says nothing about preference (fewer than two distinct
    samples, or all tied)."""
    entries = list(ranking.entries.all())
    if len(entries) < 2:
        return None
    prompt = entries[0].sample.prompt.text
    ranked = distinct_completions(RankedPrompt(prompt, tuple(e.sample.text for e in entries), tuple(e.rank for e in entries)))
    return ranked if ranked is not None and preference_pairs(ranked) else None


def snapshot_rankings(snapshot: DataSnapshot) -> tuple[list[RankedPrompt], list[RankedPrompt]]:
    """The snapshot's usable rankings as (train, eval), split by their prompt's split."""
    rows = labeling_selectors.training_rankings(project=snapshot.project, ids=snapshot.ranking_ids)
    train, eval_ = [], []
    # In pages, with their entries: only the texts and ranks are kept, not the model instances.
    for r in rows.iterator(chunk_size=2000):
        ranked = ranking_as_ranked_prompt(r)
        if ranked is not None:
            (eval_ if r.task.prompt.split == Split.EVAL else train).append(ranked)
    return _hold_out(train, eval_)


# --- lineage ------------------------------------------------------------------------------


def base_checkpoint(project) -> Checkpoint:
    """The project's base-model checkpoint row, created (and the tiny model built) on demand."""
    path = storage.base_model_path()
    found = Checkpoint.objects.filter(project=project, stage=Checkpoint.Stage.BASE, path=path).first()
    return found or Checkpoint.objects.create(project=project, stage=Checkpoint.Stage.BASE, path=path)


def latest_checkpoint(project, stages, *, round_: TrainingRound | None = None) -> Checkpoint | None:
    """The newest checkpoint of `stages` (in their order of preference), in `round_` or, when
    None, in the whole project. Rows exist only for stages that succeeded."""
    qs = Checkpoint.objects.filter(project=project)
    if round_ is not None:
        qs = qs.filter(round=round_)
    for stage in stages:
        found = qs.filter(stage=stage).order_by("-created_at").first()
        if found is not None:
            return found
    return None


def sft_start(round_: TrainingRound) -> Checkpoint:
    """Where an SFT stage starts: always the base model. Each SFT checkpoint is the base trained
    on every demonstration so far for the configured epochs, as InstructGPT's SFT models are;
    training the last SFT model again would add those epochs on top of the ones it already had
    on the old demonstrations, each round memorising them a little more."""
    return base_checkpoint(round_.project)


def sft_parent(round_: TrainingRound) -> Checkpoint:
    """Where this round's SFT (and any stage needing an SFT model) starts: the round's own SFT
    checkpoint, else the project's last good one, else the base model."""
    return (
        latest_checkpoint(round_.project, [Checkpoint.Stage.SFT], round_=round_)
        or latest_checkpoint(round_.project, [Checkpoint.Stage.SFT])
        or base_checkpoint(round_.project)
    )


def sampling_policy(round_: TrainingRound) -> Checkpoint:
    """The policy whose samples go to labelers: the round's newest policy, else the project's."""
    return (
        latest_checkpoint(round_.project, POLICY_STAGES, round_=round_)
        or latest_checkpoint(round_.project, POLICY_STAGES)
        or base_checkpoint(round_.project)
    )


def saved_progress(out_dir: Path) -> tuple[int, list[dict]] | None:
    """(step, metric history) of the resumable state in out_dir, if a previous attempt left one."""
    for name in ("state", "state.old"):
        progress = out_dir / name / "progress.json"
        if progress.exists():
            try:
                data = json.loads(progress.read_text())
                return int(data["step"]), list(data.get("history") or [])
            except (ValueError, KeyError, OSError):
                return None
    return None


# --- execution ----------------------------------------------------------------------------


def stage_execute(*, lease: Lease) -> StageOutcome:
    """Run the leased job's stage to its end (or to a stop request) and describe the result."""
    job = TrainingJob.objects.select_related("round__project", "round__snapshot").get(id=lease.job_id)
    round_ = job.round
    out_rel = storage.stage_dir(project_slug=round_.project.slug, round_number=round_.number, stage=job.stage)
    out_abs = storage.absolute(out_rel)
    saved = saved_progress(out_abs)
    if saved and saved[0]:
        # The series continues from the saved state's history: the dead worker may have
        # trained past its last heartbeat, and steps after the saved state will be redone.
        lease.metrics = [json_safe({**point, "step": point.get("step", i + 1)}) for i, point in enumerate(saved[1])]
        lease.log_line(f"resuming from the state saved at step {saved[0]}")
    lease.heartbeat(force=True)
    runner = {
        Stage.SFT: _run_sft,
        Stage.REWARD: _run_reward,
        Stage.PPO: _run_ppo,
        Stage.DPO: _run_dpo,
        Stage.SAMPLE: _run_sample,
    }[job.stage]
    return runner(job=job, lease=lease, out_rel=str(out_rel), out_abs=out_abs)


def _finish(result, *, stage, parent: Checkpoint, job: TrainingJob, out_rel: str, config, message: str, extra_config=None):
    if result.stopped:
        return StageOutcome(stopped=True)
    return StageOutcome(
        message=message,
        checkpoint={
            "stage": stage,
            "path": out_rel,
            "parent": parent,
            "snapshot": job.round.snapshot,
            "config": json_safe({**asdict(config), **(extra_config or {})}),
            "metrics": json_safe(result.metrics),
        },
    )


def _train_on_snapshot(*, job, lease, out_rel, out_abs, stage: str, train, parent: Checkpoint, data: str, metric: str) -> StageOutcome:
    """SFT, reward model and DPO: train from ``parent`` on the round's snapshot (``data``:
    demonstrations or rankings, as train and held-out eval), then record the checkpoint."""
    name = {Checkpoint.Stage.SFT: "SFT", Checkpoint.Stage.REWARD: "Reward model", Checkpoint.Stage.DPO: "DPO"}[stage]
    snapshot = job.round.snapshot
    training, held_out = (snapshot_demonstrations if data == "demonstrations" else snapshot_rankings)(snapshot)
    config = stage_config(job.round.config, stage)
    lease.log_line(f"{name} on {len(training)} {data} ({len(held_out)} eval) from {parent.stage} {parent.id}")
    result = train(
        config, training, held_out, parent=storage.absolute(parent.path), out_dir=out_abs, snapshot_id=str(snapshot.id),
        progress=lease.progress, should_stop=lease.should_stop,
    )
    return _finish(result, stage=stage, parent=parent, job=job, out_rel=out_rel, config=config,
                   message=f"{name} on {len(training)} {data}; {metric.replace('_', ' ')} {result.metrics.get(metric)}")


def _run_sft(*, job, **paths) -> StageOutcome:
    from training.ml.stages import train_sft

    return _train_on_snapshot(job=job, **paths, stage=Checkpoint.Stage.SFT, train=train_sft, parent=sft_start(job.round),
                              data="demonstrations", metric="eval_loss")


def _run_reward(*, job, **paths) -> StageOutcome:
    from training.ml.stages import train_reward_model

    return _train_on_snapshot(job=job, **paths, stage=Checkpoint.Stage.REWARD, train=train_reward_model,
                              parent=sft_parent(job.round), data="rankings", metric="eval_accuracy")


def _run_dpo(*, job, **paths) -> StageOutcome:
    from training.ml.stages import train_dpo

    return _train_on_snapshot(job=job, **paths, stage=Checkpoint.Stage.DPO, train=train_dpo, parent=sft_parent(job.round),
                              data="rankings", metric="eval_accuracy")


def _run_ppo(*, job, lease, out_rel, out_abs) -> StageOutcome:
    from training.ml.stages import train_ppo

    round_ = job.round
    reward = latest_checkpoint(round_.project, [Checkpoint.Stage.REWARD], round_=round_)
    if reward is None:
        raise RuntimeError("PPO needs this round's reward model, and the round has none; retry the reward stage first.")
    policy = sft_parent(round_)
    config = stage_config(round_.config, "ppo")
    prompts = [p.text for p in labeling_selectors.prompts_by_ids(ids=round_.snapshot.prompt_ids)]
    ptx = snapshot_demonstrations(round_.snapshot)[0] if config.ptx_coef > 0 else []
    lease.log_line(f"PPO on {len(prompts)} prompts from {policy.stage} {policy.id} against reward model {reward.id}")
    result = train_ppo(
        config, prompts, policy=storage.absolute(policy.path), reward_model=storage.absolute(reward.path), out_dir=out_abs,
        snapshot_id=str(round_.snapshot_id), ptx_data=ptx, progress=lease.progress, should_stop=lease.should_stop,
    )
    return _finish(result, stage=Checkpoint.Stage.PPO, parent=policy, job=job, out_rel=out_rel, config=config,
                   extra_config={"reward_model": str(reward.id)},
                   message=f"PPO: reward {result.metrics.get('reward_mean_initial')} -> {result.metrics.get('reward_mean')}, "
                   f"KL {result.metrics.get('kl')}")


def _run_sample(*, job, lease, out_rel, out_abs) -> StageOutcome:
    from training.ml.sampling import generate

    round_ = job.round
    project = round_.project
    policy = sampling_policy(round_)
    runtime = stage_config(round_.config, "runtime")
    base = stage_config(round_.config, "sample", k=project.k)
    prompts = list(labeling_selectors.prompts_for_sampling(project=project, split="train"))
    eval_prompts = list(labeling_selectors.prompts_for_sampling(project=project, split=Split.EVAL))
    per_eval = round_.config.get("eval_samples_per_prompt", 0)
    tasks_per_prompt = round_.config.get("ranking_tasks_per_prompt", 1)
    lease.log_line(
        f"sampling {tasks_per_prompt} x {base.k} completions for {len(prompts)} prompts from {policy.stage} {policy.id}"
    )
    chunks = [prompts[i : i + base.batch_size] for i in range(0, len(prompts), base.batch_size)]
    total = len(chunks) + (1 if eval_prompts and per_eval else 0)
    # One {prompt id: K completions} per ranking task a prompt gets this round.
    completions: list[dict[int, list[str]]] = [{} for _ in range(tasks_per_prompt)]
    generation = {}
    for index, chunk in enumerate(chunks):
        if lease.should_stop():
            return StageOutcome(stopped=True)
        # A different seed per round and chunk: every round shows labelers fresh samples.
        config = stage_config(
            round_.config, "sample", k=project.k * tasks_per_prompt, seed=base.seed + 1000 * round_.number + index
        )
        texts = generate(storage.absolute(policy.path), [p.text for p in chunk], config, runtime)
        for p, t in zip(chunk, texts):
            for task in range(tasks_per_prompt):
                completions[task][p.id] = [_storable(c) for c in t[task * project.k : (task + 1) * project.k]]
        generation = {
            **asdict(config), "k": project.k, "seed": base.seed + 1000 * round_.number, "policy_stage": policy.stage,
        }
        lease.progress(index + 1, total, {"prompts": float(len(completions[0]))})
    eval_samples, win_rate = [], None
    if eval_prompts and per_eval:
        config = stage_config(round_.config, "sample", k=per_eval, seed=EVAL_SEED)
        texts = generate(storage.absolute(policy.path), [p.text for p in eval_prompts], config, runtime)
        eval_samples = [{"prompt": p.text, "completions": [_storable(c) for c in t]} for p, t in zip(eval_prompts, texts)]
        win_rate = _reward_model_win_rate(round_, policy, eval_prompts, texts, config, runtime)
        lease.progress(total, total, {"prompts": float(len(completions[0]))})

    def after(job_: TrainingJob) -> None:
        for task_completions in completions:
            if task_completions:
                labeling_services.ranking_tasks_create_from_model(
                    project=project, completions=task_completions, checkpoint_id=policy.id, round_number=round_.number,
                    generation=json_safe(generation),
                )
        if eval_samples:
            locked = Checkpoint.objects.select_for_update().get(id=policy.id)
            locked.eval_samples = eval_samples
            if win_rate is not None:
                locked.metrics = {**locked.metrics, "win_rate_vs_sft": win_rate}
            locked.save(update_fields=["eval_samples", "metrics"])

    n_tasks = sum(len(c) for c in completions)
    message = (
        f"{n_tasks} ranking tasks of {base.k} samples from {policy.stage} checkpoint {policy.id}"
        if n_tasks else "No prompt needs ranking; no samples generated."
    )
    return StageOutcome(message=message, after=after)


def _storable(text: str) -> str:
    """A model's text as the database can hold it: a byte-level model can emit the 0x00 byte,
    which PostgreSQL text and jsonb reject."""
    return text.replace("\x00", "")


def _reward_model_win_rate(round_, policy: Checkpoint, eval_prompts, policy_texts, config, runtime) -> float | None:
    """How often the round's reward model prefers the new policy's eval completion to its SFT
    parent's (same prompts, same seed; ties count half). None when there is nothing to compare."""
    from training.ml.sampling import generate
    from training.ml.scoring import score

    reward = latest_checkpoint(round_.project, [Checkpoint.Stage.REWARD], round_=round_)
    if reward is None or policy.round_id != round_.id or policy.stage not in (Checkpoint.Stage.PPO, Checkpoint.Stage.DPO):
        return None
    parent = policy.parent
    sft_texts = generate(storage.absolute(parent.path), [p.text for p in eval_prompts], config, runtime)
    prompts = [p.text for p, texts in zip(eval_prompts, policy_texts) for _ in texts]
    new = score(storage.absolute(reward.path), prompts, [t for texts in policy_texts for t in texts], runtime)
    old = score(storage.absolute(reward.path), prompts, [t for texts in sft_texts for t in texts], runtime)
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(new, old)) / max(1, len(new))
