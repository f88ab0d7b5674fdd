"""`python manage.py demo`: the whole product on the embedded defaults, in one command.

Migrates, builds the tiny base model, seeds demo accounts and a project with work for every
role, then runs the web server, a Celery worker (both queues) and beat until Ctrl-C.
With ``--simulate`` it also runs simulated labelers through the HTTP API so the training
loop can be watched with nobody at the keyboard.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_ACCOUNTS = (
    ("labeler", "labeler"),
    ("labeler2", "labeler"),
    ("admin", "admin"),
    ("engineer", "ML engineer"),
)


class Command(BaseCommand):
    help = "Set up and run the whole product locally (web, worker, beat) on the embedded defaults."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--setup-only", action="store_true", help="Migrate, build the model and seed; start nothing.")
        parser.add_argument(
            "--simulate", action="store_true", help="Also run simulated labelers and training rounds on the demo project."
        )
        parser.add_argument("--rounds", type=int, default=2, help="Rounds to simulate with --simulate.")

    def handle(self, *args, **opts):
        if not 1 <= opts["port"] <= 65535:
            raise CommandError(f"--port must be between 1 and 65535, got {opts['port']}.")
        self.stdout.write(self.style.MIGRATE_HEADING("1/4 Database"))
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(self.style.MIGRATE_HEADING("2/4 Tiny base model"))
        call_command("bootstrap_tiny_model")
        self.stdout.write(self.style.MIGRATE_HEADING("3/4 Demo accounts and project"))
        call_command("seed_demo")
        if opts["setup_only"]:
            return
        self.stdout.write(self.style.MIGRATE_HEADING("4/4 Web server, worker and beat"))
        self._run(opts)

    def _run(self, opts) -> None:
        url = f"http://{opts['host']}:{opts['port']}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.base")}
        python = sys.executable
        processes: list[tuple[str, subprocess.Popen]] = [
            (
                "web",
                # gunicorn closes an idle keep-alive connection after --keep-alive seconds (2 by
                # default); a client that reuses it at that moment (the simulated admin polls a
                # round every 2 s) gets "connection reset". 75 s, as nginx, makes that rare;
                # simulate_labelers also retries.
                subprocess.Popen(
                    [python, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{opts['host']}:{opts['port']}",
                     "--workers", "2", "--threads", "4", "--keep-alive", "75", "--access-logfile", "-",
                     "--log-level", "warning"],
                    env=env,
                ),
            ),
            (
                "worker",
                subprocess.Popen(
                    [python, "-m", "celery", "-A", "config", "worker", "-Q", "default,training", "--concurrency", "1",
                     "--loglevel", "INFO", "-n", "demo@%h"],
                    env=env,
                ),
            ),
            ("beat", subprocess.Popen([python, "-m", "celery", "-A", "config", "beat", "--loglevel", "WARNING"], env=env)),
        ]
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            self._wait_until_up(url, processes)
            self._banner(url)
            simulation = None
            if opts["simulate"]:
                simulation = subprocess.Popen(
                    [python, "manage.py", "simulate_labelers", "--base-url", url, "--project", "sky", "--labelers", "3",
                     "--rounds", str(opts["rounds"]), "--oracle", "training.oracles.sky:oracle", "--seed", "0"],
                    env=env,
                )
            while not stopping:
                for name, proc in processes:
                    if proc.poll() is not None:
                        raise CommandError(f"The {name} process exited with code {proc.returncode}; see its output above.")
                if simulation is not None and simulation.poll() is not None:
                    self.stdout.write(f"Simulation finished (exit code {simulation.returncode}); the product keeps running.")
                    simulation = None
                time.sleep(1)
        finally:
            self.stdout.write("Stopping web, worker and beat ...")
            for _, proc in processes:
                if proc.poll() is None:
                    proc.terminate()
            for _, proc in processes:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def _wait_until_up(self, url: str, processes) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for name, proc in processes:
                if proc.poll() is not None:
                    raise CommandError(f"The {name} process exited with code {proc.returncode} while starting.")
            try:
                with urllib.request.urlopen(f"{url}/api/auth/csrf/", timeout=10):
                    return
            except urllib.error.HTTPError:
                return  # answering at all (even 403) means the server is up
            except OSError:
                time.sleep(0.5)
        raise CommandError(f"The web server did not answer at {url} within 60 s.")

    def _banner(self, url: str) -> None:
        lines = [
            "",
            f"The RLHF platform is running at {url}/",
            f"  API docs: {url}/api/docs/    Django admin: {url}/admin/",
            f"  Data (SQLite, broker, checkpoints): {settings.DATA_DIR}",
            "  Logins (username / password):",
        ]
        lines += [f"    {user:<10} / {user}-demo-pass   ({role})" for user, role in DEMO_ACCOUNTS]
        lines += ["Press Ctrl-C to stop.", ""]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
