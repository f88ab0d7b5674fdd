"""GET /api/health/: an unauthenticated probe that reports whether the database answers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.urls import reverse

import config.health

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_health_answers_anonymous_probes_with_the_database_state(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_says_503_when_the_database_does_not_answer(client, monkeypatch):
    class _DownConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(config.health, "connection", _DownConnection())
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}


@pytest.mark.django_db
def test_health_only_answers_reads(client):
    assert client.post(reverse("health")).status_code == 405


def test_production_answers_the_container_probe_on_its_plain_port(tmp_path):
    """The healthcheck calls http://127.0.0.1:8000/api/health/: neither the HTTPS redirect nor
    ALLOWED_HOSTS (the public name) may turn that into a 301 or a 400."""
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "public, local = Client(HTTP_HOST='labels.example.org'), Client(HTTP_HOST='127.0.0.1:8000')\n"
        "print(local.get('/api/health/').status_code, public.get('/api/me/').status_code, local.get('/api/me/').status_code)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    environment.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "labels.example.org",
        "SECURE_SSL_REDIRECT": "1",
    })
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # The probe gets its answer; the API still redirects to HTTPS and refuses unknown hosts.
    assert result.stdout.split() == ["200", "301", "400"]
