"""Oracles: stand-ins for a team of careful labelers, used by `simulate_labelers`.

An oracle is any object with ``train_prompts() -> list[str]``, ``eval_prompts() -> list[str]``,
``ideal(prompt) -> str`` and ``score(prompt, response) -> float`` (higher is better).
"""
