"""docker-compose.yml is checked by Compose itself, and for the services a deployment needs."""

import os
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    assert legacy, "Neither `docker compose` nor `docker-compose` is installed; `make test` installs Debian's docker-compose."
    return [legacy]


def test_compose_accepts_the_file():
    env = {**os.environ, "SECRET_KEY": "s" * 64}
    result = subprocess.run([*_compose_command(), "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run([*_compose_command(), "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_deployment_has_every_service_and_the_gpu_worker_takes_the_training_queue():
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"postgres", "redis", "web", "worker", "gpu-worker", "beat"} <= set(services)
    gpu = services["gpu-worker"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    queue = gpu["command"][gpu["command"].index("-Q") + 1]
    assert queue == "training"
    assert "gunicorn" in services["web"]["command"]
    assert "/api/health/" in " ".join(services["web"]["healthcheck"]["test"])
    assert (ROOT / "Dockerfile").is_file()


def test_the_image_leaves_out_secrets_and_local_state():
    """`COPY . .` would otherwise put .env, the local database, checkpoints and the virtualenv in the image."""
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".venv", "var", "frontend/node_modules", ".git"} <= ignored
