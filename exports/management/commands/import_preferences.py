"""Import demonstrations, preference pairs or K-way rankings from a JSONL file (all or nothing)."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from labeling.models import Project
from labeling.services.preference_import import KINDS, preference_import


class Command(BaseCommand):
    help = "Import preference data (demonstrations | pairs | rankings) into a project."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--file", required=True, help="JSONL (or JSON array) file, UTF-8.")

    def handle(self, *args, **opts):
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {opts['project']!r}.")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        limit = settings.LABELING["MAX_IMPORT_BYTES"]
        if path.stat().st_size > limit:
            raise CommandError(f"{path} is larger than {limit} bytes (LABELING_MAX_IMPORT_BYTES).")
        try:
            summary = preference_import(project=project, kind=opts["kind"], data=path.read_bytes())
        except ApplicationError as exc:
            for error in exc.details.get("errors", []):
                self.stderr.write(f"line {error['line']}: {error['field'] or '(row)'}: {error['message']}")
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(summary.as_dict()))
