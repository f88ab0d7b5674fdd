"""Bring existing preference data into a project: demonstrations, preference pairs and K-way
rankings, in the same shapes the exports app writes.

Input is JSON Lines (or one JSON array), UTF-8 with or without a byte-order mark. Every line
is validated before anything is written; any error rejects the whole file with a list of
``{"line", "field", "message"}``. Imported rankings have no labeler and no assignment, and
their tasks are complete, so training picks them up like any other ranking.

Rows are bulk-inserted here rather than through ``ranking_task_create``: that service queues
an open task of exactly ``project.k`` samples for labelers, while an import records finished
rankings of 2 to 9 samples, up to LABELING["MAX_IMPORT_ROWS"] at a time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from config.errors import ApplicationError
from labeling.models import (
    Category,
    Demonstration,
    Flag,
    Project,
    Prompt,
    Ranking,
    RankingEntry,
    Sample,
    Split,
    Task,
    TaskSample,
    text_digest,
)
from labeling.sql import in_values

KINDS = ("demonstrations", "pairs", "rankings")
# Pairs carry no quality score; the midpoint of the 1-7 scale says "not rated".
UNRATED_SCORE = 4
MAX_ERRORS = 50


@dataclass
class ImportSummary:
    prompts_created: int = 0
    prompts_reused: int = 0
    demonstrations: int = 0
    samples: int = 0
    rankings: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Row:
    line: int
    prompt: str
    split: str = Split.TRAIN
    category: str = Category.OTHER
    response: str = ""  # demonstrations
    # rankings and pairs: (text, rank, score, flags, generation) in the file's order
    samples: list[tuple[str, int, int, list[str], dict]] = field(default_factory=list)
    none_acceptable: bool = False
    time_spent_ms: int = 0


class _Errors(Exception):
    pass


class _Validator:
    def __init__(self):
        self.errors: list[dict] = []
        self.max_chars = settings.LABELING["MAX_TEXT_CHARS"]

    def add(self, line: int, field_name: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"line": line, "field": field_name, "message": message})

    def text(self, line: int, obj: dict, key: str, *, required: bool = True, label: str | None = None) -> str | None:
        label = label or key
        value = obj.get(key)
        if value is None:
            if required:
                self.add(line, label, "This field is required.")
            return None
        if not isinstance(value, str):
            self.add(line, label, "Must be a string.")
            return None
        if required and not value.strip():
            self.add(line, label, "Must not be blank.")
            return None
        if len(value) > self.max_chars:
            self.add(line, label, f"Longer than {self.max_chars} characters.")
            return None
        return value

    def turn(self, line: int, obj: dict, key: str, role: str) -> str | None:
        """A text field given either as a string or as chat messages (the turn of `role`)."""
        value = obj.get(key)
        if isinstance(value, list):
            contents = [m.get("content") for m in value if isinstance(m, dict) and m.get("role") == role]
            if len(contents) != 1 or not isinstance(contents[0], str):
                self.add(line, key, f"Give a string, or a message list with exactly one {role} message.")
                return None
            return self.text(line, {key: contents[0]}, key)
        return self.text(line, obj, key)

    def common(self, line: int, obj: dict, row: _Row) -> None:
        split = obj.get("split", Split.TRAIN) or Split.TRAIN
        if split not in Split.values:
            self.add(line, "split", f"Choose one of {', '.join(Split.values)}.")
        else:
            row.split = split
        category = obj.get("category", Category.OTHER) or Category.OTHER
        if category not in Category.values:
            self.add(line, "category", f"Choose one of {', '.join(Category.values)}.")
        else:
            row.category = category

    def demonstration(self, line: int, obj: dict) -> _Row | None:
        if "messages" in obj:
            messages = obj["messages"]
            if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
                self.add(line, "messages", "Must be a list of {role, content} objects.")
                return None
            turns = [m for m in messages if m.get("role") != "system"]
            if len(turns) != 2 or turns[0].get("role") != "user" or turns[1].get("role") != "assistant":
                self.add(line, "messages", "Give one user message followed by one assistant message.")
                return None
            prompt = self.text(line, turns[0], "content", label="messages[user].content")
            response = self.text(line, turns[1], "content", label="messages[assistant].content")
        else:
            prompt = self.text(line, obj, "prompt")
            key = "completion" if "completion" in obj else "response"
            response = self.text(line, obj, key)
        row = _Row(line=line, prompt=prompt or "", response=response or "")
        self.common(line, obj, row)
        return row if prompt is not None and response is not None else None

    def pair(self, line: int, obj: dict) -> _Row | None:
        prompt = self.turn(line, obj, "prompt", "user")
        chosen = self.turn(line, obj, "chosen", "assistant")
        rejected = self.turn(line, obj, "rejected", "assistant")
        tied = obj.get("tied", False)
        if not isinstance(tied, bool):
            self.add(line, "tied", "Must be true or false.")
        row = _Row(line=line, prompt=prompt or "")
        self.common(line, obj, row)
        if prompt is None or chosen is None or rejected is None:
            return None
        if chosen == rejected:
            self.add(line, "rejected", "Chosen and rejected are the same text.")
            return None
        row.samples = [(chosen, 1, UNRATED_SCORE, [], {}), (rejected, 1 if tied is True else 2, UNRATED_SCORE, [], {})]
        return row

    def ranking(self, line: int, obj: dict) -> _Row | None:
        prompt = self.text(line, obj, "prompt")
        row = _Row(line=line, prompt=prompt or "")
        self.common(line, obj, row)
        samples = obj.get("samples")
        if not isinstance(samples, list) or not 2 <= len(samples) <= 9:
            self.add(line, "samples", "Give a list of 2 to 9 samples.")
            return None
        parsed, ok = [], prompt is not None
        for i, s in enumerate(samples):
            where = f"samples[{i}]"
            if not isinstance(s, dict):
                self.add(line, where, "Must be an object with text and rank.")
                ok = False
                continue
            text = self.text(line, s, "text", label=f"{where}.text")
            rank, score = s.get("rank"), s.get("score", UNRATED_SCORE)
            if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
                self.add(line, f"{where}.rank", "Must be a positive integer (1 is best; equal ranks are ties).")
                ok = False
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 7:
                self.add(line, f"{where}.score", "Must be an integer from 1 to 7.")
                ok = False
            flags = s.get("flags") or []
            if not isinstance(flags, list) or any(f not in Flag.values for f in flags):
                self.add(line, f"{where}.flags", f"Must be a list of: {', '.join(Flag.values)}.")
                ok = False
            generation = s.get("generation") or {}
            if isinstance(generation, str):  # exports write it as a JSON string
                try:
                    generation = json.loads(generation)
                except ValueError:
                    generation = None
            if not isinstance(generation, dict):
                self.add(line, f"{where}.generation", "Must be an object (or its JSON text).")
                ok = False
            ok = ok and text is not None
            if ok:
                parsed.append((text, rank, score, list(flags), generation))
        texts = [p[0] for p in parsed]
        if ok and len(set(texts)) != len(texts):
            self.add(line, "samples", "Two samples have the same text.")
            ok = False
        none_acceptable = obj.get("none_acceptable", False)
        time_spent = obj.get("time_spent_ms", 0)
        if not isinstance(none_acceptable, bool):
            self.add(line, "none_acceptable", "Must be true or false.")
            ok = False
        if isinstance(time_spent, bool) or not isinstance(time_spent, int) or time_spent < 0:
            self.add(line, "time_spent_ms", "Must be a non-negative integer.")
            ok = False
        if not ok:
            return None
        # Dense ranks 1..G: files may use competition ranks (1, 2, 2, 4).
        dense = {r: i + 1 for i, r in enumerate(sorted({p[1] for p in parsed}))}
        row.samples = [(t, dense[r], sc, fl, gen) for t, r, sc, fl, gen in parsed]
        row.none_acceptable, row.time_spent_ms = none_acceptable, time_spent
        return row


def _file_error(message: str) -> ApplicationError:
    return ApplicationError(message, code="import_invalid", details={"errors": [{"line": 0, "field": "file", "message": message}]})


def _records(data: bytes, v: _Validator) -> list[tuple[int, Any]]:
    limit = settings.LABELING["MAX_IMPORT_BYTES"]
    if len(data) > limit:
        raise _file_error(f"The file is larger than {limit} bytes.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ApplicationError(
            f"Line {line}: the file is not UTF-8.", code="import_invalid", details={"errors": [{"line": line, "field": "", "message": "Not UTF-8."}]}
        ) from None
    max_rows = settings.LABELING["MAX_IMPORT_ROWS"]
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise ApplicationError(
                f"Line {exc.lineno}: not valid JSON.", code="import_invalid",
                details={"errors": [{"line": exc.lineno, "field": "", "message": str(exc.msg)}]},
            ) from None  # fmt: skip
        records = list(enumerate(items, start=1))  # a JSON array reports item numbers as lines
    else:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except ValueError as exc:
                v.add(number, "", f"Not valid JSON: {exc.msg}.")
            if len(records) > max_rows:
                break
    if len(records) > max_rows:
        raise _file_error(f"More than {max_rows} rows.")
    if not records and not v.errors:
        raise _file_error("The file holds no rows.")
    return records


def _prompts(project: Project, rows: list[_Row], user, summary: ImportSummary) -> dict[str, Prompt]:
    wanted: dict[str, _Row] = {}
    for row in rows:
        wanted.setdefault(text_digest(row.prompt), row)
    found = {p.text_hash: p for p in Prompt.objects.filter(project=project, text_hash__in=in_values(wanted, pg_type="text"))}
    new = [
        Prompt(project=project, text=r.prompt, text_hash=h, split=r.split, category=r.category, source=Prompt.Source.IMPORTED, created_by=user)
        for h, r in wanted.items()
        if h not in found
    ]
    Prompt.objects.bulk_create(new, batch_size=2000)
    summary.prompts_created, summary.prompts_reused = len(new), len(found)
    found.update({p.text_hash: p for p in new})
    return found


@transaction.atomic
def preference_import(*, project: Project, kind: str, data: bytes, user=None) -> ImportSummary:
    """Validate the whole file, then write its rows in one transaction (all or nothing).

    Raises ApplicationError (code ``import_invalid``) whose ``details.errors`` lists up to 50
    problems, each naming the line and the field.
    """
    if kind not in KINDS:
        raise ApplicationError(f"kind: Choose one of {', '.join(KINDS)}.", details={"field": "kind"})
    v = _Validator()
    records = _records(data, v)
    parse = {"demonstrations": v.demonstration, "pairs": v.pair, "rankings": v.ranking}[kind]
    rows = []
    for line, obj in records:
        if not isinstance(obj, dict):
            v.add(line, "", "Each row must be a JSON object.")
            continue
        row = parse(line, obj)
        if row is not None:
            rows.append(row)
    if v.errors:
        v.errors.sort(key=lambda e: e["line"])  # JSON syntax errors were found in a first pass
        first = v.errors[0]
        where = f"line {first['line']}" + (f", field {first['field']}" if first["field"] else "")
        raise ApplicationError(
            f"The file was not imported ({len(v.errors)}{'+' if len(v.errors) >= MAX_ERRORS else ''} problems; first at {where}: {first['message']})",
            code="import_invalid",
            details={"errors": v.errors},
        )

    summary = ImportSummary()
    prompts = _prompts(project, rows, user, summary)
    if kind == "demonstrations":
        Demonstration.objects.bulk_create(
            [Demonstration(prompt=prompts[text_digest(r.prompt)], text=r.response) for r in rows], batch_size=2000
        )
        summary.demonstrations = len(rows)
        return summary

    tasks = Task.objects.bulk_create(
        [
            Task(project=project, prompt=prompts[text_digest(r.prompt)], kind=Task.Kind.RANKING, status=Task.Status.COMPLETE, overlap=1, submitted_count=1)
            for r in rows
        ],
        batch_size=2000,
    )
    samples = Sample.objects.bulk_create(
        [
            Sample(prompt=task.prompt, text=text, origin=Sample.Origin.IMPORTED, generation=generation)
            for task, r in zip(tasks, rows)
            for text, _rank, _score, _flags, generation in r.samples
        ],
        batch_size=2000,
    )
    links, rankings, per_row, at = [], [], [], 0
    for task, r in zip(tasks, rows):
        mine = samples[at : at + len(r.samples)]
        at += len(r.samples)
        per_row.append(mine)
        links += [TaskSample(task=task, sample=s, position=i) for i, s in enumerate(mine)]
        groups: dict[int, list[int]] = {}
        for s, (_t, rank, *_rest) in zip(mine, r.samples):
            groups.setdefault(rank, []).append(s.id)
        rankings.append(
            Ranking(
                task=task,
                labeler=None,
                order=[groups[k] for k in sorted(groups)],
                shown_order=[s.id for s in mine],
                none_acceptable=r.none_acceptable,
                time_spent_ms=r.time_spent_ms,
            )
        )
    TaskSample.objects.bulk_create(links, batch_size=2000)
    Ranking.objects.bulk_create(rankings, batch_size=2000)
    RankingEntry.objects.bulk_create(
        [
            RankingEntry(ranking=ranking, sample=s, rank=rank, score=score, flags=flags)
            for ranking, mine, r in zip(rankings, per_row, rows)
            for s, (_t, rank, score, flags, _g) in zip(mine, r.samples)
        ],
        batch_size=2000,
    )
    summary.samples, summary.rankings = len(samples), len(rankings)
    return summary
