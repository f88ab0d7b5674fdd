"""The sft and preference exports train as they are with trl's SFTTrainer and DPOTrainer."""

from __future__ import annotations

import datasets
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

from exports.services import export_file_write, export_prepare
from training.ml.models import bootstrap_tiny_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return bootstrap_tiny_model(tmp_path_factory.mktemp("tiny"), hidden_size=32, num_layers=1, num_heads=2)


def export(project, tmp_path, kind, fmt, style):
    options, _, cutoff = export_prepare(project=project, kind=kind, fmt=fmt, raw_options={"style": style})
    out = tmp_path / f"{kind}-{style}.{fmt}"
    export_file_write(project=project, kind=kind, fmt=fmt, options=options, salt="s", pseudonymize=True, id_cutoff=cutoff, out_path=out)
    return datasets.load_dataset("json" if fmt == "jsonl" else "parquet", data_files=str(out), split="train")


def common(tmp_path) -> dict:
    return dict(
        output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=2, bf16=False, report_to="none",
        save_strategy="no", logging_steps=1, gradient_checkpointing=False, use_cpu=True, learning_rate=1e-3,
    )  # fmt: skip


def trained(model, before) -> bool:
    return any(not torch.equal(p.detach().cpu(), before[n]) for n, p in model.named_parameters())


@pytest.mark.parametrize("fmt,style", [("jsonl", "messages"), ("parquet", "prompt_completion")])
def test_sft_trainer_trains_on_the_sft_export(filled, project, tmp_path, tiny_model, fmt, style):
    dataset = export(project, tmp_path, "sft", fmt, style)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = SFTTrainer(model=model, args=SFTConfig(**common(tmp_path), max_length=64), train_dataset=dataset, processing_class=AutoTokenizer.from_pretrained(tiny_model))
    result = trainer.train()
    assert result.global_step == 2 and trained(model, before)


@pytest.mark.parametrize("fmt,style", [("jsonl", "text"), ("parquet", "messages")])
def test_dpo_trainer_trains_on_the_preference_export(filled, project, tmp_path, tiny_model, fmt, style):
    dataset = export(project, tmp_path, "preference", fmt, style)
    assert dataset.num_rows == 8
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = DPOTrainer(model=model, args=DPOConfig(**common(tmp_path), max_length=64), train_dataset=dataset, processing_class=AutoTokenizer.from_pretrained(tiny_model))
    result = trainer.train()
    assert result.global_step == 2 and trained(model, before)
