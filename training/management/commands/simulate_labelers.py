"""`python manage.py simulate_labelers --base-url URL --project SLUG --labelers 3 --rounds 2
--oracle MODULE:NAME --noise 0.1 --seed 0`: a team of labelers and an admin, acting through the
HTTP API only, so the whole loop runs and is measured with nobody at the keyboard.

Accounts and the project (with the oracle's train and held-out prompts) are created through
the ORM when missing, since the command runs against the same database; everything else --
claiming tasks, writing demonstrations, ranking, scheduling and watching rounds -- goes over
HTTP. After each round it prints one JSON line: round, labels, sft_score, policy_score,
win_rate_vs_sft (held-out prompts, judged by the oracle).
"""

from __future__ import annotations

import importlib
import json
import random
import time

import requests
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from labeling.models import Project, Split
from labeling.services.projects import project_create
from labeling.services.prompts import prompt_create
from labeling.roles import ADMIN, LABELER
from training.oracles.judging import mean_score, noisy_order, win_rate

# The labeling API's endpoints this command uses (see labeling/api/urls.py).
TOKEN_URL = "/api/auth/token/"
NEXT_TASK_URL = "/api/projects/{slug}/tasks/next/"
SUBMIT_URL = "/api/assignments/{id}/submit/"


def load_oracle(spec: str):
    """MODULE:NAME -> the object (a module works too, without :NAME)."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module
    except (ImportError, AttributeError) as exc:
        raise CommandError(f"--oracle {spec!r} cannot be imported: {exc}") from exc


class Api:
    """A logged-in HTTP session with the error shape of the API turned into CommandError."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        response = self.session.post(self.base + TOKEN_URL, json={"username": username, "password": password}, timeout=30)
        self._check(response)
        self.session.headers["Authorization"] = f"Token {response.json()['token']}"

    @staticmethod
    def _check(response):
        if response.status_code >= 400:
            raise CommandError(f"{response.request.method} {response.url} -> {response.status_code}: {response.text[:500]}")

    def get(self, path: str, **params):
        response = self.session.get(self.base + path, params=params, timeout=60)
        self._check(response)
        return response.json()

    def post(self, path: str, body: dict | None = None):
        response = self.session.post(self.base + path, json=body or {}, timeout=60)
        self._check(response)
        return response.json() if response.content else None


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
        parser.add_argument("--round-timeout", type=float, default=1800)

    def handle(self, *args, **opts):
        if opts["labelers"] < 1 or opts["rounds"] < 1 or opts["noise"] < 0:
            raise CommandError("--labelers and --rounds must be at least 1 and --noise non-negative.")
        oracle = load_oracle(opts["oracle"])
        rng = random.Random(opts["seed"])
        names = self._accounts(opts["labelers"])
        self._project(opts["project"], oracle, opts["labelers"])
        admin = Api(opts["base_url"], *names["admin"])
        labelers = [Api(opts["base_url"], *credentials) for credentials in names["labelers"]]
        slug = opts["project"]
        labels = 0
        baseline = None
        for _ in range(opts["rounds"]):
            labels += self._label(slug, labelers, oracle, opts["noise"], rng)
            round_ = admin.post(f"/api/projects/{slug}/rounds/", {})
            round_ = self._wait(admin, round_["id"], opts["round_timeout"])
            policy = self._final_policy(admin, round_)
            if baseline is None:
                baseline = self._sft_policy(admin, round_) or policy
            result = {
                "round": round_["number"],
                "status": round_["status"],
                "labels": labels,
                "sft_score": mean_score(oracle, baseline["eval_samples"]) if baseline else None,
                "policy_score": mean_score(oracle, policy["eval_samples"]) if policy else None,
                "win_rate_vs_sft": win_rate(oracle, policy["eval_samples"], baseline["eval_samples"]) if policy and baseline else None,
            }
            self.stdout.write(json.dumps(result))

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
    def _project(self, slug: str, oracle, labelers: int) -> None:
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            project = project_create(name=slug, slug=slug, overlap=min(labelers, 3))
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
                assignment = api.post(NEXT_TASK_URL.format(slug=slug))["assignment"]
                if not assignment:
                    break
                prompt = assignment["prompt"]["text"]
                if assignment["kind"] == "demonstration":
                    body = {"text": oracle.ideal(prompt)}
                else:
                    samples = assignment["samples"]
                    order = noisy_order(oracle, prompt, [s["text"] for s in samples], noise=noise, rng=rng)
                    body = {"order": [[samples[i]["id"]] for i in order],
                            "scores": {str(samples[i]["id"]): max(1, 7 - rank) for rank, i in enumerate(order)}}
                api.post(SUBMIT_URL.format(id=assignment["id"]), body)
                done += 1
        return done

    def _wait(self, admin: Api, round_id: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            round_ = admin.get(f"/api/rounds/{round_id}/")
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
                return admin.get(f"/api/checkpoints/{job['checkpoint_id']}/")
        return None

    def _final_policy(self, admin: Api, round_: dict):
        return self._checkpoint(admin, round_, ("ppo", "dpo", "sft"))

    def _sft_policy(self, admin: Api, round_: dict):
        return self._checkpoint(admin, round_, ("sft",))
