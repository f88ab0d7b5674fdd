"""`python manage.py import_prompts PROJECT FILE [--format jsonl|csv|json]`."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from labeling.models import Project
from labeling.services import prompts_import
from labeling.services.prompts import IMPORT_FORMATS


class Command(BaseCommand):
    help = "Import prompts into a project from JSONL, CSV or a JSON array (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("project", help="Project slug.")
        parser.add_argument("file", help="Path of the file to import.")
        parser.add_argument("--format", choices=IMPORT_FORMATS, help="Default: from the file name, else sniffed.")
        parser.add_argument("--no-demonstration-tasks", action="store_true", help="Do not queue demonstration tasks for train prompts.")

    def handle(self, *args, **opts):
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"No project with the slug {opts['project']!r}.")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        limit = settings.LABELING["MAX_IMPORT_BYTES"]
        if path.stat().st_size > limit:
            raise CommandError(f"{path} is {path.stat().st_size} bytes; the limit is {limit} (LABELING_MAX_IMPORT_BYTES).")

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"  checked {done}/{total} rows")

        self.stdout.write(f"Importing {path} into {project.slug!r} ...")
        try:
            prompts = prompts_import(
                project=project, data=path.read_bytes(), format=opts["format"], filename=path.name,
                create_demonstration_tasks=not opts["no_demonstration_tasks"], on_progress=progress,
            )
        except ApplicationError as exc:
            for error in exc.details.get("errors", []):
                where = f"line {error['line']}" + (f", field {error['field']}" if error["field"] else "")
                self.stderr.write(f"  {where}: {error['message']}")
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Imported {len(prompts)} prompts into {project.slug!r}."))
