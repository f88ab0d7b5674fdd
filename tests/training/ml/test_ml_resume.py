"""Interrupted runs resume from their state and end where an uninterrupted run ends."""

import pytest
import torch
from safetensors.torch import load_file

from training.ml.config import DPOConfig, PPOConfig, RewardConfig, SFTConfig
from training.ml.stages import train_dpo, train_ppo, train_reward_model, train_sft


class StopAt:
    """should_stop() that says yes once, before step `step` (counting calls)."""

    def __init__(self, step: int):
        self.step, self.calls = step, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls == self.step + 1


def assert_same_weights(a, b, atol=1e-5):
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=atol), f"{k} differs by {(wa[k] - wb[k]).abs().max()}"


def assert_same_history(a, b, keys, rel=1e-4):
    assert len(a) == len(b)
    for ha, hb in zip(a, b):
        for k in keys:
            assert ha[k] == pytest.approx(hb[k], rel=rel, abs=1e-6), (k, ha, hb)


def run_interrupted(stage_fn, stop_at, out_dir, **kwargs):
    first = stage_fn(out_dir=out_dir, should_stop=StopAt(stop_at), **kwargs)
    assert first.stopped and first.checkpoint is None and len(first.history) == stop_at
    assert (out_dir / "state" / "progress.json").exists()
    second = stage_fn(out_dir=out_dir, **kwargs)
    assert not second.stopped
    return second


def test_sft_resume_after_stop_matches_uninterrupted(tiny_base, task, tmp_path, cpu):
    config = SFTConfig(epochs=3, lr=3e-3, batch_size=4, max_length=64, save_every=0, runtime=cpu)
    kwargs = dict(config=config, train=task.memorize, eval=task.memorize_eval, parent=tiny_base)
    full = train_sft(out_dir=tmp_path / "full", **kwargs)
    resumed = run_interrupted(train_sft, 4, tmp_path / "resumed", **kwargs)
    assert_same_history(full.history, resumed.history, ["loss", "lr"])
    assert resumed.metrics == pytest.approx(full.metrics, rel=1e-4)
    assert_same_weights(full.checkpoint, resumed.checkpoint)


def test_sft_resumes_from_the_last_saved_state_after_a_crash(tiny_base, task, tmp_path, cpu):
    config = SFTConfig(epochs=3, lr=3e-3, batch_size=4, max_length=64, save_every=3, runtime=cpu)
    kwargs = dict(config=config, train=task.memorize, eval=task.memorize_eval, parent=tiny_base)
    full = train_sft(out_dir=tmp_path / "full", **kwargs)

    def crash(step, total, metrics):
        if step == 5:
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        train_sft(out_dir=tmp_path / "crashed", progress=crash, **kwargs)
    # Steps 4 and 5 were lost with the crash; the run redoes them from the state of step 3.
    resumed_from = []
    resumed = train_sft(out_dir=tmp_path / "crashed", progress=lambda s, t, m: resumed_from.append(s), **kwargs)
    assert resumed_from[0] == 4
    assert_same_history(full.history, resumed.history, ["loss"])
    assert_same_weights(full.checkpoint, resumed.checkpoint)


def test_ppo_resume_matches_uninterrupted(words_sft, reward_result, task, tmp_path, cpu):
    config = PPOConfig(
        steps=5, rollout_batch_size=8, minibatch_size=4, ppo_epochs=2, lr=1e-3, max_new_tokens=6,
        adaptive_kl=True, target_kl=0.1, save_every=0, runtime=cpu,
    )
    kwargs = dict(config=config, prompts=task.prompts, policy=words_sft.checkpoint, reward_model=reward_result.checkpoint)
    full = train_ppo(out_dir=tmp_path / "full", **kwargs)
    resumed = run_interrupted(train_ppo, 2, tmp_path / "resumed", **kwargs)
    # Same RNG, data position and adaptive beta: the resumed run samples the same responses.
    assert_same_history(full.history, resumed.history, ["reward_mean", "kl", "beta", "response_length", "value_loss"], rel=1e-3)
    assert_same_weights(full.checkpoint, resumed.checkpoint, atol=1e-4)


@pytest.mark.parametrize("stage", ["reward", "dpo"])
def test_reward_and_dpo_resume_match_uninterrupted(stage, words_sft, task, tmp_path, cpu):
    if stage == "reward":
        train, config = train_reward_model, RewardConfig(epochs=1, lr=1e-3, batch_size=16, max_length=64, save_every=0, runtime=cpu)
    else:
        train, config = train_dpo, DPOConfig(epochs=1, lr=1e-3, batch_size=16, max_length=64, save_every=0, runtime=cpu)
    kwargs = dict(config=config, train=task.rankings_train[:64], eval=task.rankings_eval[:8], parent=words_sft.checkpoint)
    full = train(out_dir=tmp_path / "full", **kwargs)
    resumed = run_interrupted(train, 2, tmp_path / "resumed", **kwargs)
    assert_same_history(full.history, resumed.history, ["loss"])
    assert resumed.metrics["eval_accuracy"] == pytest.approx(full.metrics["eval_accuracy"])
    assert_same_weights(full.checkpoint, resumed.checkpoint)
