"""Settings for the test suite: the real PostgreSQL and Redis (127.0.0.1 unless the
environment names others)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rlhf")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from config.settings.base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests never run collectstatic: WhiteNoise looks up files per request instead of indexing a
# STATIC_ROOT that does not exist at start-up (and warning about it in every test client).
WHITENOISE_AUTOREFRESH = True
