"""Each stage trains the tiny model on CPU and really learns."""


import pytest

from training.ml.checkpoints import read_meta
from training.ml.config import DPOConfig, PPOConfig, SampleConfig, SFTConfig
from training.ml.sampling import generate
from training.ml.stages import train_dpo, train_ppo, train_sft


def test_sft_eval_loss_falls_and_the_model_recalls_its_demonstrations(tiny_base, task, tmp_path, cpu):
    config = SFTConfig(epochs=40, lr=3e-3, batch_size=4, max_length=64, eval_every=20, save_every=0, runtime=cpu)
    seen = []
    result = train_sft(
        config, task.memorize, task.memorize_eval, parent=tiny_base, out_dir=tmp_path / "sft", snapshot_id="demo-1",
        progress=lambda step, total, m: seen.append((step, total)),
    )
    assert result.metrics["eval_loss"] < 0.5 * result.metrics["eval_loss_initial"]
    assert result.history[-1]["loss"] < 0.2 * result.history[0]["loss"]
    assert seen[-1] == (120, 120) and len(result.history) == 120
    greedy = generate(result.checkpoint, [d.prompt for d in task.memorize], SampleConfig(k=1, temperature=0, max_new_tokens=8), cpu)
    recalled = sum(out[0] == d.response for out, d in zip(greedy, task.memorize))
    assert recalled >= 9, f"only {recalled}/10 demonstrations reproduced: {greedy}"
    meta = read_meta(result.checkpoint)
    assert (meta.stage, meta.parent, meta.snapshot_id) == ("sft", str(tiny_base), "demo-1")
    assert meta.config["lr"] == 3e-3 and meta.metrics["eval_loss"] == result.metrics["eval_loss"]
    assert (result.checkpoint / "model.safetensors").exists()


def test_reward_model_learns_the_hidden_preference(reward_result):
    assert reward_result.metrics["eval_accuracy_initial"] < 0.75
    assert reward_result.metrics["eval_accuracy"] >= 0.9
    assert read_meta(reward_result.checkpoint).stage == "reward"


def test_ppo_raises_reward_while_kl_stays_bounded(words_sft, reward_result, task, tmp_path, cpu):
    config = PPOConfig(
        steps=12, rollout_batch_size=16, minibatch_size=8, ppo_epochs=2, lr=1e-3, beta=0.02,
        max_new_tokens=8, save_every=0, runtime=cpu,
    )
    result = train_ppo(
        config, task.prompts, policy=words_sft.checkpoint, reward_model=reward_result.checkpoint,
        out_dir=tmp_path / "ppo", snapshot_id="rankings-v1",
    )
    rewards = [h["reward_mean"] for h in result.history]
    first, last = sum(rewards[:3]) / 3, sum(rewards[-3:]) / 3
    assert last > first + 1.0, f"mean reward did not rise clearly: {rewards}"
    assert max(h["kl"] for h in result.history) < 15.0
    assert result.history[0]["kl"] == pytest.approx(0.0, abs=1e-4), "first rollout: policy == reference"
    for key in ("reward_mean", "kl", "clip_frac", "value_loss", "entropy", "response_length"):
        assert key in result.history[-1]
    meta = read_meta(result.checkpoint)
    assert meta.stage == "ppo" and meta.config["reward_model"] == str(reward_result.checkpoint)


def test_ppo_ptx_and_adaptive_kl_run(words_sft, reward_result, task, tmp_path, cpu):
    config = PPOConfig(
        steps=3, rollout_batch_size=8, minibatch_size=4, ppo_epochs=1, lr=1e-3, max_new_tokens=6, save_every=0,
        ptx_coef=0.5, ptx_batch_size=4, adaptive_kl=True, target_kl=0.01, kl_horizon=100, runtime=cpu,
    )
    result = train_ppo(
        config, task.prompts, policy=words_sft.checkpoint, reward_model=reward_result.checkpoint,
        out_dir=tmp_path / "ppo", ptx_data=task.demos,
    )
    assert "ptx_loss" in result.history[0]
    # "beta" is the coefficient each step used: it moves towards the target after every step.
    betas, kls = [h["beta"] for h in result.history], [h["kl"] for h in result.history]
    assert betas[0] == config.beta
    for i in range(1, len(betas)):
        assert (betas[i] > betas[i - 1]) == (kls[i - 1] > config.target_kl), (betas, kls)
    assert kls[0] < config.target_kl < max(kls), "the run should see KL on both sides of the target"


def test_dpo_prefers_held_out_chosen_completions(words_sft, task, tmp_path, cpu):
    config = DPOConfig(epochs=1, lr=1e-3, beta=0.1, batch_size=16, max_length=64, save_every=0, runtime=cpu)
    result = train_dpo(
        config, task.rankings_train[:80], task.rankings_eval, parent=words_sft.checkpoint, out_dir=tmp_path / "dpo",
    )
    assert result.metrics["eval_accuracy"] >= 0.75
    assert result.metrics["eval_reward_margin"] > 0
    assert read_meta(result.checkpoint).stage == "dpo"
