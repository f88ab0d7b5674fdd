"""The layering of STYLE.md, enforced: import-linter's contracts from pyproject.toml."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"Import contracts broken:\n{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout, result.stdout


def test_web_processes_do_not_load_the_training_stack(tmp_path):
    """Gunicorn workers and export jobs load the apps and every URL, never torch, transformers or
    trl: those are for the training worker (each costs web processes hundreds of MB)."""
    script = (
        "import sys, django; django.setup()\n"
        "from django.urls import resolve; resolve('/api/projects/')\n"
        "import config.wsgi, exports.services\n"
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'datasets') if m in sys.modules))\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.base", "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
