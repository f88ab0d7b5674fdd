"""Suite-wide set-up: the real PostgreSQL and Redis must be reachable.

A missing service fails the run with the command that starts it; tests are never skipped for it.
"""

import os
import socket
from urllib.parse import urlparse

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
}


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    from django.conf import settings

    db = settings.DATABASES["default"]
    problems = []
    if db["ENGINE"].endswith("postgresql"):
        if not _reachable(f"postgres://{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}", 5432):
            problems.append(f"PostgreSQL is not reachable at {db.get('HOST')}:{db.get('PORT')}. Start it with: {_HOW_TO_START['PostgreSQL']}")
    else:
        problems.append("The test suite runs on PostgreSQL: set DATABASE_URL to a postgres:// URL (or leave it unset for 127.0.0.1).")
    broker = settings.CELERY_BROKER_URL
    if broker.startswith("redis://") and not _reachable(broker, 6379):
        problems.append(f"Redis is not reachable at {broker}. Start it with: {_HOW_TO_START['Redis']}")
    if problems:
        pytest.exit("\n".join(problems), returncode=3)
