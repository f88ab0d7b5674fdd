"""`python manage.py simulate_labelers --base-url URL --project SLUG --labelers 3 --rounds 2
--oracle MODULE:NAME --noise 0.1 --seed 0`: a team of labelers and an admin, acting through the
HTTP API only, so the whole loop runs and is measured with nobody at the keyboard.

Accounts and the project (with the oracle's train and held-out prompts) are created through
the ORM when missing, since the command runs against the same database; everything else --
claiming tasks, writing demonstrations, ranking, scheduling and watching rounds -- goes over
HTTP. After each round it prints one JSON line: round, status, labels, sft_score, policy_score,
win_rate_vs_sft (held-out prompts, judged by the oracle) and round_s (the round's wall time).

Every request survives a dropped connection: reads and claims are retried as they are, submits
carry an Idempotency-Key, and a round whose scheduling POST lost its answer is looked up rather
than scheduled twice.
"""

from __future__ import annotations

import importlib
import json
import random
import time
import uuid
from datetime import datetime

import requests
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from labeling.models import Project, Split
from labeling.roles import ADMIN, LABELER
from labeling.services.projects import project_create
from labeling.services.prompts import prompt_create
from training.oracles.judging import mean_score, noisy_ranking, win_rate

# The API endpoints this command uses (see labeling/api/urls.py and training/api/urls.py).
TOKEN_URL = "/api/auth/token/"
NEXT_TASK_URL = "/api/projects/{slug}/tasks/next/"
SUBMIT_URL = "/api/assignments/{id}/submit/"
ROUNDS_URL = "/api/projects/{slug}/rounds/"
ROUND_URL = "/api/rounds/{id}/"
CHECKPOINT_URL = "/api/checkpoints/{id}/"

# Failures worth another try: the connection dropped or timed out, or a proxy answered for a
# server that is restarting. Anything else is the server's considered answer.
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout)
TRANSIENT_STATUS = (502, 503, 504)


class ApiError(CommandError):
    """An HTTP error answer of the API, in its error shape (code, message, details)."""

    def __init__(self, message: str, *, status: int, body: dict):
        super().__init__(message)
        self.status = status
        self.body = body


class Unreachable(CommandError):
    """The request got no answer (connection dropped, timed out, or 502-504) after every try."""


def load_oracle(spec: str):
    """MODULE:NAME -> the object (a module works too, without :NAME)."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module
    except (ImportError, AttributeError) as exc:
        raise CommandError(f"--oracle {spec!r} cannot be imported: {exc}") from exc


class Api:
    """A logged-in HTTP session: the API's error shape becomes ApiError, and transient failures
    are retried with a growing pause (`attempts` tries in all), each retry reported via `warn`."""

    def __init__(self, base_url: str, username: str, password: str, *, warn=print, attempts: int = 6, pause: float = 1.0):
        self.base = base_url.rstrip("/")
        self.warn = warn
        self.attempts = attempts
        self.pause = pause
        self.session = requests.Session()
        token = self.request("POST", TOKEN_URL, body={"username": username, "password": password})["token"]
        self.session.headers["Authorization"] = f"Token {token}"

    def request(self, method: str, path: str, *, body: dict | None = None, headers: dict | None = None,
                params: dict | None = None, attempts: int | None = None):
        """The decoded JSON answer. Only call with retries (the default) for requests that are
        safe to repeat: reads, claims (they return the lease you hold) and keyed submits."""
        url = self.base + path
        attempts = attempts or self.attempts
        for attempt in range(1, attempts + 1):
            try:
                response = self.session.request(method, url, json=body, params=params, headers=headers, timeout=60)
                if response.status_code not in TRANSIENT_STATUS:
                    break
                problem = f"HTTP {response.status_code}"
            except TRANSIENT_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt == attempts:
                raise Unreachable(
                    f"{method} {url} got no answer after {attempts} tries ({problem}); is the server running at {self.base}?"
                )
            delay = self.pause * 2 ** (attempt - 1)
            self.warn(f"{method} {path}: {problem}; retrying in {delay:g}s (try {attempt + 1} of {attempts})")
            time.sleep(delay)
        if response.status_code >= 400:
            try:
                data = response.json()
            except ValueError:
                data = {}
            raise ApiError(
                f"{method} {url} -> {response.status_code}: {response.text[:500]}", status=response.status_code,
                body=data if isinstance(data, dict) else {},
            )
        return response.json() if response.content else None

    def get(self, path: str, **params):
        return self.request("GET", path, params=params or None)


def round_schedule_once(admin: Api, slug: str, *, warn=print, attempts: int = 6) -> dict:
    """Schedule the project's next round exactly once, even when the POST's answer is lost.

    The POST is never repeated blindly: after a dropped connection the project's rounds are
    read, and a round newer than the newest one before the POST is taken as the one it created
    (one round runs at a time per project: had anyone else scheduled one meanwhile, ours would
    have been refused with a 409). Only when there is none is the POST sent again. A 409 naming
    an active round newer than the ones seen before means an earlier try went through; that
    round is returned.
    """
    rounds_url = ROUNDS_URL.format(slug=slug)
    before = max((r["number"] for r in admin.get(rounds_url)), default=0)
    for attempt in range(1, attempts + 1):
        try:
            return admin.request("POST", rounds_url, body={}, attempts=1)
        except Unreachable as exc:
            problem = str(exc)
        except ApiError as exc:
            error = exc.body.get("error") or {}
            active = (error.get("details") or {}).get("round") if exc.status == 409 else None
            if active is None:
                raise
            found = admin.get(ROUND_URL.format(id=active))
            if found["number"] <= before:
                raise  # an older round is still running: not ours, and scheduling must wait
            return found
        newer = [r for r in admin.get(rounds_url) if r["number"] > before]
        if newer:
            created = min(newer, key=lambda r: r["number"])
            warn(f"The round POST lost its answer ({problem}); it had created round {created['number']}, using it.")
            return admin.get(ROUND_URL.format(id=created["id"]))
        if attempt < attempts:
            warn(f"The round POST lost its answer ({problem}) and created no round; sending it again.")
            time.sleep(admin.pause * 2 ** (attempt - 1))
    raise Unreachable(f"Could not schedule a round of {slug!r} after {attempts} tries; is the server running at {admin.base}?")


class Command(BaseCommand):
    help = "Simulated labelers and an admin drive the training loop over the HTTP API, judged by an oracle."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--project", required=True)
        parser.add_argument("--labelers", type=int, default=3)
        parser.add_argument("--rounds", type=int, default=2)
        parser.add_argument("--oracle", default="training.oracles.sky:oracle")
        parser.add_argument("--noise", type=float, default=0.1, help="Std of the Gaussian noise on the oracle's scores.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--k", type=int, default=9,
            help="Samples per ranking task when the project is created (InstructGPT ranked 4 to 9).",
        )
        parser.add_argument("--round-timeout", type=float, default=1800)

    def handle(self, *args, **opts):
        if opts["labelers"] < 1 or opts["rounds"] < 1 or opts["noise"] < 0:
            raise CommandError("--labelers and --rounds must be at least 1 and --noise non-negative.")
        if not 2 <= opts["k"] <= 9 or opts["round_timeout"] <= 0:
            raise CommandError("--k must be from 2 to 9 and --round-timeout positive.")
        oracle = load_oracle(opts["oracle"])
        rng = random.Random(opts["seed"])
        names = self._accounts(opts["labelers"])
        self._project(opts["project"], oracle, opts["labelers"], opts["k"])
        warn = self._warn
        admin = Api(opts["base_url"], *names["admin"], warn=warn)
        labelers = [Api(opts["base_url"], *credentials, warn=warn) for credentials in names["labelers"]]
        slug = opts["project"]
        labels = 0
        baseline = None
        for _ in range(opts["rounds"]):
            labels += self._label(slug, labelers, oracle, opts["noise"], rng)
            round_ = round_schedule_once(admin, slug, warn=warn)
            round_ = self._wait(admin, round_["id"], opts["round_timeout"])
            policy = self._final_policy(admin, round_)
            if baseline is None:
                baseline = self._sft_policy(admin, round_) or policy
            result = {
                "round": round_["number"],
                "status": round_["status"],
                "labels": labels,
                "sft_score": _rounded(mean_score(oracle, baseline["eval_samples"])) if baseline else None,
                "policy_score": _rounded(mean_score(oracle, policy["eval_samples"])) if policy else None,
                "win_rate_vs_sft": (
                    _rounded(win_rate(oracle, policy["eval_samples"], baseline["eval_samples"])) if policy and baseline else None
                ),
                "round_s": _seconds(round_["started_at"], round_["finished_at"]),
            }
            self.stdout.write(json.dumps(result))

    def _warn(self, message: str) -> None:
        self.stderr.write(message)

    @transaction.atomic
    def _accounts(self, n: int) -> dict:
        def account(name: str, role: str):
            user, _ = User.objects.get_or_create(username=name)
            password = f"{name}-simulated-pass"
            user.set_password(password)
            user.save()
            user.groups.add(Group.objects.get_or_create(name=role)[0])
            return name, password

        return {"admin": account("sim-admin", ADMIN), "labelers": [account(f"sim-labeler-{i}", LABELER) for i in range(n)]}

    @transaction.atomic
    def _project(self, slug: str, oracle, labelers: int, k: int) -> None:
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            project = project_create(name=slug, slug=slug, overlap=min(labelers, 3), k=k)
        existing = set(project.prompts.values_list("text", flat=True))
        for split, prompts in ((Split.TRAIN, oracle.train_prompts()), (Split.EVAL, oracle.eval_prompts())):
            for text in prompts:
                if text not in existing:
                    # Through the service, so train prompts get their demonstration tasks.
                    prompt_create(project=project, text=text, split=split)

    def _label(self, slug: str, labelers: list[Api], oracle, noise: float, rng: random.Random) -> int:
        """Every labeler takes tasks until the queue has none for them; returns labels written."""
        done = 0
        for api in labelers:
            while True:
                assignment = api.request("POST", NEXT_TASK_URL.format(slug=slug))["assignment"]
                if not assignment:
                    break
                prompt = assignment["prompt"]["text"]
                if assignment["kind"] == "demonstration":
                    body = {"text": oracle.ideal(prompt)}
                else:
                    samples = assignment["samples"]
                    groups = noisy_ranking(oracle, prompt, [s["text"] for s in samples], noise=noise, rng=rng)
                    body = {
                        "order": [[samples[i]["id"] for i in group] for group in groups],
                        "scores": {str(samples[i]["id"]): max(1, 7 - rank) for rank, group in enumerate(groups) for i in group},
                    }
                # The key makes a retried submit answer with the first result instead of a conflict.
                api.request("POST", SUBMIT_URL.format(id=assignment["id"]), body=body,
                            headers={"Idempotency-Key": str(uuid.uuid4())})
                done += 1
        return done

    def _wait(self, admin: Api, round_id: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            round_ = admin.get(ROUND_URL.format(id=round_id))
            if round_["status"] in ("succeeded", "failed", "cancelled"):
                if round_["status"] != "succeeded":
                    self.stderr.write(f"round {round_['number']} {round_['status']}: {round_['message']}")
                return round_
            time.sleep(2)
        raise CommandError(f"round {round_id} did not finish within {timeout}s; is a worker running (`celery -A config worker -Q default,training`)?")

    @staticmethod
    def _checkpoint(admin: Api, round_: dict, stages: tuple[str, ...]):
        by_stage = {j["stage"]: j for j in round_["jobs"]}
        for stage in stages:
            job = by_stage.get(stage)
            if job and job.get("checkpoint_id"):
                return admin.get(CHECKPOINT_URL.format(id=job["checkpoint_id"]))
        return None

    def _final_policy(self, admin: Api, round_: dict):
        return self._checkpoint(admin, round_, ("ppo", "dpo", "sft"))

    def _sft_policy(self, admin: Api, round_: dict):
        return self._checkpoint(admin, round_, ("sft",))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _seconds(started: str | None, finished: str | None) -> float | None:
    if not started or not finished:
        return None
    return round((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds(), 1)
