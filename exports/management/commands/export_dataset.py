"""Write an export file synchronously, with a progress bar.

    python manage.py export_dataset --project SLUG --kind preference --format jsonl --out pairs.jsonl
"""

from __future__ import annotations

import json
import secrets
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from config.errors import ApplicationError
from exports.models import ExportFormat, ExportKind
from exports.services import export_file_write, export_prepare
from labeling.models import Project


class Command(BaseCommand):
    help = "Export a project's data (sft, preference, rankings or eval) to JSONL, Parquet or CSV."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument("--kind", required=True, choices=ExportKind.values)
        parser.add_argument("--format", default="jsonl", choices=ExportFormat.values)
        parser.add_argument("--out", required=True, help="Output file (written atomically).")
        parser.add_argument("--style", help="sft: messages | prompt_completion; preference: text | messages.")
        parser.add_argument("--tie-policy", choices=["skip", "both", "drop_ranking"])
        parser.add_argument("--split", choices=["train", "eval"])
        parser.add_argument("--labeler", help="Only this labeler's work (username).")
        parser.add_argument("--created-after", help="ISO 8601, inclusive.")
        parser.add_argument("--created-before", help="ISO 8601, exclusive.")
        parser.add_argument("--round", type=int, help="Only rankings of samples from this round's policy.")
        parser.add_argument("--snapshot", help="Only the rows of this data snapshot (UUID).")
        parser.add_argument(
            "--min-agreement", type=float, help="Only rankings whose agreement with the task's other labelers is at least this share (0-1)."
        )
        parser.add_argument("--salt", help="Pseudonym salt; give an earlier export's salt to reproduce it.")
        parser.add_argument("--id-cutoff", type=int, help="Highest source id; give an earlier export's cutoff to reproduce it.")
        parser.add_argument("--no-pseudonymize", action="store_true", help="Write usernames instead of pseudonyms.")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--json", action="store_true", help="Print the summary as one JSON line.")

    def handle(self, *args, **opts):
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {opts['project']!r}.")
        raw = {
            key: opts[key]
            for key in ("style", "tie_policy", "split", "labeler", "created_after", "created_before", "round", "snapshot", "min_agreement")
            if opts.get(key) is not None
        }
        try:
            options, _snapshot, cutoff = export_prepare(project=project, kind=opts["kind"], fmt=opts["format"], raw_options=raw)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if opts["id_cutoff"] is not None:
            cutoff = opts["id_cutoff"]
        salt = opts["salt"] or secrets.token_hex(16)
        bar = tqdm(total=0, unit="rec", disable=opts["no_progress"], desc=f"{opts['kind']} -> {opts['format']}")

        def progress(done: int, total: int, written: int) -> None:
            bar.total = total
            bar.n = done
            bar.set_postfix(rows=written, refresh=False)
            bar.refresh()

        started = time.perf_counter()
        result = export_file_write(
            project=project,
            kind=opts["kind"],
            fmt=opts["format"],
            options=options,
            salt=salt,
            pseudonymize=not opts["no_pseudonymize"],
            id_cutoff=cutoff,
            out_path=opts["out"],
            progress=progress,
        )
        bar.close()
        seconds = time.perf_counter() - started
        summary = {
            "out": opts["out"],
            "records": result.rows_total,
            "rows": result.rows_written,
            "seconds": round(seconds, 3),
            "sha256": result.sha256,
            "size_bytes": result.size_bytes,
            "salt": salt,
            "id_cutoff": cutoff,
            "options": options.to_json(),
        }
        if opts["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"Wrote {result.rows_written} rows from {result.rows_total} records to {opts['out']} in {seconds:.1f} s "
                f"(sha256 {result.sha256}). Reproduce with --salt {salt} --id-cutoff {cutoff}."
            )
