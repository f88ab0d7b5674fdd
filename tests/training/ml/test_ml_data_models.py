"""Data classes, tiny model bootstrap, checkpoint metadata, sampling and scoring."""

import json
from dataclasses import asdict

import pytest

from training.ml.checkpoints import CheckpointMeta, read_meta, write_meta
from training.ml.config import PPOConfig, SampleConfig
from training.ml.data import RankedPrompt, distinct_completions, preference_pairs
from training.ml.models import format_prompt, load_causal_lm, load_reward_model, load_tokenizer
from training.ml.sampling import generate
from training.ml.scoring import score


def test_preference_pairs_are_all_non_tied_pairs_best_first():
    r = RankedPrompt("p", ("a", "b", "c", "d"), (2, 1, 2, 3))
    assert sorted(preference_pairs(r)) == sorted([("b", "a"), ("b", "c"), ("b", "d"), ("a", "d"), ("c", "d")])


def test_a_text_is_never_preferred_to_a_copy_of_itself():
    # A model sampled "Blue" twice; the labeler had to put one copy above the other.
    r = RankedPrompt("p", ("Blue", "Brown", "Blue"), (1, 2, 3))
    # No (Blue, Blue) pair; the two copies still contradict each other about Brown...
    assert sorted(preference_pairs(r)) == [("Blue", "Brown"), ("Brown", "Blue")]
    # ... which is why rankings reach the reward model and DPO with each distinct text once.
    assert distinct_completions(r) == RankedPrompt("p", ("Blue", "Brown"), (1, 2)), "each text once, at its best rank"
    assert preference_pairs(distinct_completions(r)) == [("Blue", "Brown")]
    assert distinct_completions(RankedPrompt("p", ("Blue", "Blue"), (1, 2))) is None


def test_ranked_prompt_rejects_mismatched_ranks():
    with pytest.raises(ValueError, match="one rank per completion"):
        RankedPrompt("p", ("a", "b"), (1,))
    with pytest.raises(ValueError, match="start at 1"):
        RankedPrompt("p", ("a", "b"), (0, 1))


def test_checkpoint_meta_round_trip(tmp_path):
    meta = CheckpointMeta(
        stage="ppo", parent="/ckpt/sft", snapshot_id="snap-7", config=asdict(PPOConfig(steps=3)), metrics={"kl": 1.5}
    )
    write_meta(tmp_path, meta)
    assert read_meta(tmp_path) == meta
    assert json.loads((tmp_path / "meta.json").read_text())["config"]["runtime"]["device"] == "auto"
    assert {"torch", "transformers"} <= set(meta.versions)


def test_read_meta_explains_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint written by training.ml"):
        read_meta(tmp_path)


def test_tiny_model_has_distinct_pad_and_eos_and_a_chat_template(tiny_base, cpu):
    tokenizer = load_tokenizer(tiny_base)
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    assert "{% generation %}" in tokenizer.chat_template
    assert format_prompt(tokenizer, "hi") == "<|user|>\nhi<|end|>\n<|assistant|>\n"
    model = load_causal_lm(tiny_base, cpu)
    assert model.config.vocab_size == len(tokenizer)
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    rm = load_reward_model(tiny_base, cpu)
    assert rm.config.num_labels == 1 and rm.config.pad_token_id == tokenizer.pad_token_id


def test_sampling_gives_k_completions_reproducibly(words_sft, task, cpu):
    config = SampleConfig(k=3, temperature=1.0, max_new_tokens=8, seed=5, batch_size=2)
    first = generate(words_sft.checkpoint, task.prompts[:3], config, cpu)
    assert len(first) == 3 and all(len(c) == 3 for c in first)
    assert generate(words_sft.checkpoint, task.prompts[:3], config, cpu) == first
    other = generate(words_sft.checkpoint, task.prompts[:3], SampleConfig(k=3, max_new_tokens=8, seed=6, batch_size=2), cpu)
    assert other != first
    assert len({c for cs in first for c in cs}) > 3, "temperature 1 should give varied completions"


def test_score_ranks_by_the_learned_preference(reward_result, cpu):
    scores = score(reward_result.checkpoint, ["tell me about cats"] * 3, [" good good good ok", " ok ok ok ok", " bad bad ok bad"], cpu)
    assert scores[0] > scores[1] > scores[2]
