"""Prompt services: single prompts and bulk imports (JSONL, CSV, JSON array)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from config.errors import ApplicationError, Conflict
from labeling.models import Category, Project, Prompt, Split, Task, text_digest
from labeling.sql import in_values

IMPORT_FORMATS = ("jsonl", "csv", "json")
IMPORT_FIELDS = ("text", "category", "split", "metadata")


def _clean_text(text: Any, *, field_name: str = "text") -> str:
    if not isinstance(text, str) or not text.strip():
        raise ApplicationError(f"{field_name} must be a non-empty string.", details={"field": field_name})
    limit = settings.LABELING["MAX_TEXT_CHARS"]
    if len(text) > limit:
        raise ApplicationError(f"{field_name} is {len(text)} characters long; the limit is {limit}.", details={"field": field_name})
    return text.strip()


def _clean_category(value: Any) -> str:
    if value in (None, ""):
        return Category.OTHER
    normalised = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    if normalised not in Category.values:
        raise ApplicationError(
            f"Unknown category {value!r}; use one of {', '.join(Category.values)}.", details={"field": "category"}
        )
    return normalised


def _clean_split(value: Any) -> str:
    if value in (None, ""):
        return Split.TRAIN
    if value not in Split.values:
        raise ApplicationError(f"Unknown split {value!r}; use train or eval.", details={"field": "split"})
    return value


@transaction.atomic
def prompt_create(
    *,
    project: Project,
    text: str,
    category: str = Category.OTHER,
    split: str = Split.TRAIN,
    metadata: dict[str, Any] | None = None,
    source: str = Prompt.Source.IMPORTED,
    created_by: AbstractBaseUser | None = None,
    create_demonstration_tasks: bool = True,
) -> Prompt:
    """Add one prompt. A train prompt also gets its demonstration task (unless told not to).
    Raises Conflict if the project already has this text."""
    prompt = Prompt(
        project=project, text=_clean_text(text), category=_clean_category(category), split=_clean_split(split),
        metadata=metadata or {}, source=source, created_by=created_by,
    )
    try:
        with transaction.atomic():
            prompt.save()
    except IntegrityError as exc:
        raise Conflict("This project already has a prompt with the same text.", code="duplicate_prompt") from exc
    if prompt.split == Split.TRAIN and create_demonstration_tasks:
        Task.objects.create(project=project, prompt=prompt, kind=Task.Kind.DEMONSTRATION, overlap=project.overlap)
    return prompt


@transaction.atomic
def prompt_update(*, prompt: Prompt, **changes: Any) -> Prompt:
    """Change a prompt's text, category, split or metadata."""
    unknown = set(changes) - set(IMPORT_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown prompt fields: {', '.join(sorted(unknown))}.")
    if "text" in changes:
        prompt.text = _clean_text(changes["text"])
    if "category" in changes:
        prompt.category = _clean_category(changes["category"])
    if "split" in changes:
        prompt.split = _clean_split(changes["split"])
    if "metadata" in changes:
        if not isinstance(changes["metadata"], dict):
            raise ApplicationError("metadata must be a JSON object.", details={"field": "metadata"})
        prompt.metadata = changes["metadata"]
    try:
        with transaction.atomic():
            prompt.save()
    except IntegrityError as exc:
        raise Conflict("This project already has a prompt with the same text.", code="duplicate_prompt") from exc
    return prompt


@transaction.atomic
def prompt_delete(*, prompt: Prompt) -> None:
    """Delete a prompt that nobody has worked on yet. Prompts with demonstrations or rankings
    are kept: their labels are training data (move them to the eval split instead)."""
    if prompt.demonstrations.exists() or Task.objects.filter(prompt=prompt, rankings__isnull=False).exists():
        raise Conflict("This prompt already has labels; it cannot be deleted.", code="prompt_has_labels")
    prompt.delete()


# --- Import -----------------------------------------------------------------------------------


@dataclass
class ImportRow:
    line: int
    values: dict[str, Any]


@dataclass
class ImportErrors:
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, line: int, field_name: str, message: str) -> None:
        self.errors.append({"line": line, "field": field_name, "message": message})


MAX_ERRORS_REPORTED = 200


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ApplicationError(
            "The file is not valid UTF-8.", code="import_invalid",
            details={"errors": [{"line": line, "field": "", "message": f"Invalid UTF-8 byte at offset {exc.start}."}]},
        ) from exc


def _guess_format(text: str, filename: str | None) -> str:
    if filename:
        suffix = filename.rsplit(".", 1)[-1].lower()
        if suffix in IMPORT_FORMATS:
            return suffix
        if suffix == "ndjson":
            return "jsonl"
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        return "jsonl"
    return "csv"


def _parse_rows(text: str, fmt: str, errors: ImportErrors) -> list[ImportRow]:
    rows: list[ImportRow] = []
    if fmt == "jsonl":
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                errors.add(number, "", f"Not valid JSON: {exc.msg} (column {exc.colno}).")
                continue
            if not isinstance(value, dict):
                errors.add(number, "", "Each line must be a JSON object with a text field.")
                continue
            rows.append(ImportRow(number, value))
    elif fmt == "json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.add(exc.lineno, "", f"Not valid JSON: {exc.msg} (column {exc.colno}).")
            return rows
        if not isinstance(value, list):
            errors.add(1, "", "A JSON import must be an array of objects.")
            return rows
        # Line numbers of a JSON array are item numbers (1 = first object).
        for number, item in enumerate(value, start=1):
            if not isinstance(item, dict):
                errors.add(number, "", "Each array item must be an object with a text field.")
                continue
            rows.append(ImportRow(number, item))
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            header = reader.fieldnames or []
            if "text" not in header:
                errors.add(1, "text", "The CSV header must have a text column.")
                return rows
            for item in reader:
                # The header is line 1; a quoted field may span lines, so ask the reader.
                rows.append(ImportRow(reader.line_num, {k: v for k, v in item.items() if k is not None}))
                if None in item:
                    errors.add(reader.line_num, "", "This row has more fields than the header.")
        except csv.Error as exc:
            errors.add(reader.line_num, "", f"Not valid CSV: {exc}.")
    else:
        raise ApplicationError(f"Unknown import format {fmt!r}; use one of {', '.join(IMPORT_FORMATS)}.", details={"field": "format"})
    return rows


def _validate_row(row: ImportRow, fmt: str, errors: ImportErrors) -> dict[str, Any] | None:
    values = row.values
    unknown = [k for k in values if k not in IMPORT_FIELDS]
    for key in unknown:
        errors.add(row.line, str(key), f"Unknown field; allowed fields are {', '.join(IMPORT_FIELDS)} (put extra data under metadata).")
    cleaned: dict[str, Any] = {}
    for name, clean in (("text", _clean_text), ("category", _clean_category), ("split", _clean_split)):
        try:
            cleaned[name] = clean(values.get(name))
        except ApplicationError as exc:
            errors.add(row.line, name, exc.message if values.get(name) is not None or name != "text" else "text is required.")
    metadata = values.get("metadata") or {}
    if fmt == "csv" and isinstance(metadata, str) and metadata:
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError:
            metadata = None
    if not isinstance(metadata, dict):
        errors.add(row.line, "metadata", "metadata must be a JSON object.")
    cleaned["metadata"] = metadata
    if unknown or len(cleaned) < 4 or not isinstance(metadata, dict):
        return None
    return cleaned


@transaction.atomic
def prompts_import(
    *,
    project: Project,
    data: bytes,
    format: str | None = None,
    filename: str | None = None,
    created_by: AbstractBaseUser | None = None,
    create_demonstration_tasks: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Prompt]:
    """Import prompts from JSONL, CSV (header with a ``text`` column) or a JSON array, UTF-8
    with or without BOM. Fields: text, optional category, split (train/eval), metadata.

    All or nothing: any bad row, a duplicate within the file or against the project, or a
    file over ``LABELING["MAX_IMPORT_BYTES"]`` / ``["MAX_IMPORT_ROWS"]`` raises an
    ``import_invalid`` error whose details list every problem as ``{line, field, message}``.
    Train prompts get their demonstration tasks unless ``create_demonstration_tasks=False``.
    """
    limits = settings.LABELING
    if len(data) > limits["MAX_IMPORT_BYTES"]:
        raise ApplicationError(
            f"The file is {len(data)} bytes; the limit is {limits['MAX_IMPORT_BYTES']}.", code="import_invalid",
            details={"errors": [{"line": 0, "field": "file", "message": "File too large."}]},
        )
    if format is not None and format not in IMPORT_FORMATS:
        raise ApplicationError(f"Unknown import format {format!r}; use one of {', '.join(IMPORT_FORMATS)}.", details={"field": "format"})
    text = _decode(data)
    fmt = format or _guess_format(text, filename)
    errors = ImportErrors()
    rows = _parse_rows(text, fmt, errors)
    if len(rows) > limits["MAX_IMPORT_ROWS"]:
        raise ApplicationError(
            f"The file has {len(rows)} rows; the limit is {limits['MAX_IMPORT_ROWS']}.", code="import_invalid",
            details={"errors": [{"line": 0, "field": "file", "message": "Too many rows."}]},
        )
    if not rows and not errors.errors:
        errors.add(0, "file", "The file has no prompts.")

    seen: dict[str, int] = {}
    valid: list[tuple[int, dict[str, Any], str]] = []
    for index, row in enumerate(rows, start=1):
        cleaned = _validate_row(row, fmt, errors)
        if on_progress and index % 1000 == 0:
            on_progress(index, len(rows))
        if cleaned is None:
            continue
        digest = text_digest(cleaned["text"])
        if digest in seen:
            errors.add(row.line, "text", f"Duplicate of line {seen[digest]} in this file.")
            continue
        seen[digest] = row.line
        valid.append((row.line, cleaned, digest))
    existing = set(
        Prompt.objects.filter(project=project, text_hash__in=in_values([d for _, _, d in valid], pg_type="text"))
        .values_list("text_hash", flat=True)
    )
    for line, _, digest in valid:
        if digest in existing:
            errors.add(line, "text", "This prompt is already in the project.")
    if errors.errors:
        ordered = sorted(errors.errors, key=lambda e: e["line"])
        raise ApplicationError(
            f"The import has {len(ordered)} problem(s); nothing was imported. First: line {ordered[0]['line']}"
            f"{' field ' + ordered[0]['field'] if ordered[0]['field'] else ''}: {ordered[0]['message']}",
            code="import_invalid",
            details={"errors": ordered[:MAX_ERRORS_REPORTED], "total": len(ordered)},
        )

    try:
        with transaction.atomic():
            prompts = Prompt.objects.bulk_create(
                [
                    Prompt(project=project, text_hash=digest, source=Prompt.Source.IMPORTED, created_by=created_by, **cleaned)
                    for _, cleaned, digest in valid
                ],
                batch_size=2000,
            )
    except IntegrityError as exc:
        # A concurrent import added one of these prompts after the duplicate check.
        raise Conflict("Another import added some of these prompts at the same time; retry.", code="duplicate_prompt") from exc
    if create_demonstration_tasks:
        Task.objects.bulk_create(
            [
                Task(project=project, prompt=p, kind=Task.Kind.DEMONSTRATION, overlap=project.overlap)
                for p in prompts
                if p.split == Split.TRAIN
            ],
            batch_size=2000,
        )
    if on_progress:
        on_progress(len(rows), len(rows))
    return prompts
