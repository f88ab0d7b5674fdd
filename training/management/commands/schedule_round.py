"""`python manage.py schedule_round PROJECT [--config JSON] [--wait]`: schedule a round now."""

import json

from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from training import selectors
from training.services import rounds


class Command(BaseCommand):
    help = "Schedule a training round of a project now (a worker runs it)."

    def add_arguments(self, parser):
        parser.add_argument("project", help="Project slug.")
        parser.add_argument("--config", default="{}", help="Round config as JSON; missing keys take the demo defaults.")

    def handle(self, *args, **opts):
        try:
            config = json.loads(opts["config"])
            project = selectors.project_get(slug=opts["project"])
            round_ = rounds.round_schedule(project=project, config=config)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not JSON: {exc}") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Scheduled round {round_.number} of {project.slug} (id {round_.id}).")
