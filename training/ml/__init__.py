"""Pure machine-learning library of the RLHF product: SFT, reward model, PPO, DPO, sampling.

No Django and no `labeling` imports: plain dataclasses in (`training.ml.data`,
`training.ml.config`), checkpoints on disk and metrics out.
"""

import os

# No hub is reachable from the training machines, and trl pings telemetry per trainer.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
