"""`python manage.py round_status [--project SLUG] [--round N] [--follow]`: a round's stages with
progress bars, refreshed until the round ends when --follow is given."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from config.errors import ApplicationError
from labeling.models import Project
from training import selectors
from training.models import TrainingRound

DONE = (TrainingRound.Status.SUCCEEDED, TrainingRound.Status.FAILED, TrainingRound.Status.CANCELLED)


class Command(BaseCommand):
    help = "Print the status of a training round (the newest by default), with a progress bar per stage."

    def add_arguments(self, parser):
        parser.add_argument("--project", help="Project slug (default: the only project, or the newest round anywhere).")
        parser.add_argument("--round", type=int, help="Round number (default: the newest).")
        parser.add_argument("--follow", action="store_true", help="Refresh until the round finishes.")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between refreshes with --follow.")

    def _round(self, opts) -> TrainingRound:
        try:
            if opts["project"]:
                project = selectors.project_get(slug=opts["project"])
            else:
                latest = TrainingRound.objects.order_by("-created_at").first()
                if latest is None:
                    raise CommandError("No round exists yet; schedule one with `manage.py schedule_round PROJECT`.")
                project = Project.objects.get(id=latest.project_id)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        rounds = selectors.round_list(project=project)
        round_ = rounds.filter(number=opts["round"]).first() if opts["round"] else rounds.first()
        if round_ is None:
            raise CommandError(f"{project.slug} has no round {opts['round'] or ''}".strip() + ".")
        return selectors.round_get(round_id=round_.id)

    def handle(self, *args, **opts):
        round_ = self._round(opts)
        bars: dict = {}
        self.stdout.write(f"{round_.project.slug} round {round_.number}")
        try:
            while True:
                round_ = selectors.round_get(round_id=round_.id)
                for job in round_.jobs.all():
                    bar = bars.get(job.id)
                    if bar is None:
                        bar = bars[job.id] = tqdm(total=job.total_steps or 1, desc=f"{job.stage:>6}", position=len(bars),
                                                  file=self.stdout._out, leave=True, dynamic_ncols=True)
                    bar.total = max(job.total_steps, 1)
                    bar.n = job.step if job.total_steps else (1 if job.status == "succeeded" else 0)
                    last = job.metrics[-1] if job.metrics else {}
                    shown = {k: round(v, 4) for k, v in last.items() if isinstance(v, float) and k in
                             ("loss", "eval_loss", "accuracy", "reward_mean", "kl")}
                    bar.set_postfix_str(f"{job.status} {shown if shown else ''}".strip(), refresh=False)
                    bar.refresh()
                if not opts["follow"] or round_.status in DONE:
                    break
                time.sleep(opts["interval"])
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write(f"status: {round_.status}" + (f" -- {round_.message}" if round_.message else ""))
        for job in round_.jobs.all():
            if job.message:
                self.stdout.write(f"  {job.stage}: {job.message.splitlines()[0]}")
