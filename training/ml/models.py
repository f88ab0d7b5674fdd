"""Loading models and tokenizers, and building the tiny offline model for demos and tests."""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from training.ml.config import RuntimeConfig

PAD, EOS, USER, ASSISTANT = "<|pad|>", "<|end|>", "<|user|>", "<|assistant|>"

# The {% generation %} markers let trl's assistant_only_loss find the assistant turn; our own
# loops tokenize prompt and response separately, so they only need the generation prompt.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<|assistant|>\n{% generation %}{{ message['content'] }}<|end|>{% endgeneration %}\n"
    "{% else %}"
    "<|user|>\n{{ message['content'] }}<|end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

# Shipped so that `bootstrap_tiny_model(path)` works without any data: a few lines of plain
# English plus the prompt format, enough for BPE merges on common words.
DEFAULT_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "What color is the sky? The sky is blue on a clear day.",
    "Write a short poem about the sea. The sea is wide and the waves are slow.",
    "Summarize the text in one sentence. The text says that practice makes progress.",
    "Translate to French: good morning. Bonjour.",
    "Question: what is two plus two? Answer: four.",
    "List three fruits: apple, banana, cherry.",
    "Please explain how a reward model ranks answers from best to worst.",
    "Thank you, that answer was helpful and kind. This one is good, that one is bad.",
    "0 1 2 3 4 5 6 7 8 9 10 hello world yes no maybe",
]


def _train_tokenizer(corpus: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, USER, ASSISTANT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS)
    fast.add_special_tokens({"additional_special_tokens": [USER, ASSISTANT]})
    fast.chat_template = CHAT_TEMPLATE
    return fast


def bootstrap_tiny_model(
    path: str | Path,
    *,
    seed: int = 0,
    corpus: list[str] | None = None,
    vocab_size: int = 512,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 1024,
) -> Path:
    """Build a small randomly initialised Llama and its tokenizer at `path`, in seconds on CPU.

    The byte-level BPE tokenizer is trained on `corpus` (plus a shipped default corpus) and has
    distinct pad and eos tokens, so a reward model's "last non-pad token" is never the eos.
    Width and depth are arguments so benchmarks can build a larger model the same way.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer(DEFAULT_CORPUS + list(corpus or []), vocab_size)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=4 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def load_tokenizer(path_or_name: str | Path) -> PreTrainedTokenizerFast:
    """Load a tokenizer and make sure it can pad (falls back to eos as pad for hub models)."""
    tokenizer = AutoTokenizer.from_pretrained(str(path_or_name))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(
    path_or_name: str | Path, runtime: RuntimeConfig = RuntimeConfig(), *, trainable: bool = False
) -> PreTrainedModel:
    """Load a causal LM on the runtime's device.

    Frozen models (trainable=False) are loaded in the runtime dtype and put in eval mode;
    trainable ones stay in float32 (the loops run the forward under autocast).
    """
    dtype = torch.float32 if trainable else runtime.torch_dtype()
    model = AutoModelForCausalLM.from_pretrained(str(path_or_name), dtype=dtype)
    model.to(runtime.torch_device())
    model.train(trainable)
    model.requires_grad_(trainable)
    return model


def load_reward_model(
    path: str | Path, runtime: RuntimeConfig = RuntimeConfig(), *, trainable: bool = False
) -> PreTrainedModel:
    """Load a model with a scalar head (num_labels=1); from an LM checkpoint the head is new."""
    dtype = torch.float32 if trainable else runtime.torch_dtype()
    tokenizer = load_tokenizer(path)
    torch.manual_seed(runtime.seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(path), num_labels=1, pad_token_id=tokenizer.pad_token_id, dtype=dtype
    )
    model.to(runtime.torch_device())
    model.train(trainable)
    model.requires_grad_(trainable)
    return model


def format_prompt(tokenizer, prompt: str) -> str:
    """The prompt as a user turn in the chat template, with the assistant turn opened."""
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )


def count_parameters(model: torch.nn.Module) -> int:
    """Number of distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
