"""Settings come from the environment; production refuses to start unsafely."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import env

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, extra_env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    environment.update({"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **extra_env})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = _manage("check", extra_env={"DJANGO_SETTINGS_MODULE": "config.settings.production"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_passes_deploy_check_without_warnings(tmp_path):
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        extra_env={"DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": "k" * 20 + "Zq81-xP_" * 6},
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_defaults_need_no_server(tmp_path):
    result = _manage(
        "shell", "--no-imports", "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)",
        extra_env={"DJANGO_SETTINGS_MODULE": "config.settings.base", "DATABASE_URL": "", "CELERY_BROKER_URL": ""},
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


@pytest.mark.parametrize("prepared,cursors", [("1", "0"), ("0", "1")])
def test_pooler_settings_for_postgres(tmp_path, prepared, cursors):
    """Behind PgBouncer in transaction mode: no prepared statements, no server-side cursors."""
    result = _manage(
        "shell", "--no-imports", "-c",
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(s.LABELING['PREPARED_STATEMENTS'], d['OPTIONS'].get('prepare_threshold'), d['DISABLE_SERVER_SIDE_CURSORS'])",
        extra_env={
            "DJANGO_SETTINGS_MODULE": "config.settings.base", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
            "DATABASE_PREPARED_STATEMENTS": prepared, "DATABASE_DISABLE_SERVER_SIDE_CURSORS": cursors,
        },
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    expected = ["True", "5", "False"] if prepared == "1" else ["False", "None", "True"]
    assert result.stdout.split() == expected


@pytest.mark.parametrize("raw,expected", [("1", True), ("yes", True), ("off", False), ("", False)])
def test_env_bool_parses_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env.env_bool("SOME_FLAG") is expected


def test_env_bool_rejects_garbage_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(env.ImproperlyConfiguredEnv, match="SOME_FLAG='maybe' is not a boolean"):
        env.env_bool("SOME_FLAG")
