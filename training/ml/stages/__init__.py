"""The training stages, one module each: config + data + parent checkpoint -> checkpoint + metrics."""

from training.ml.stages.dpo import train_dpo
from training.ml.stages.ppo import train_ppo
from training.ml.stages.reward import train_reward_model
from training.ml.stages.sft import train_sft
from training.ml.stages.state import StageResult

__all__ = ["StageResult", "train_dpo", "train_ppo", "train_reward_model", "train_sft"]
