"""Rows of each export kind, streamed from the database in id order, a chunk at a time.

A source yields column batches (``dict[str, list]``, every list the same length) so that the
Parquet writer builds record batches directly and memory stays bounded by the chunk size.
Sources read with keyset pagination (``id > last`` ... ``LIMIT n``) over ``values_list``
tuples: no model instances, no growing cursor state.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from datetime import timezone

import pyarrow as pa
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Max, Q, QuerySet
from django.db.models.expressions import RawSQL

from exports.models import ExportKind
from exports.options import ExportOptions
from labeling.models import Demonstration, Project, Prompt, Ranking, RankingEntry, Split
from labeling.selectors import AGREEING_RANKINGS_SQL, ALL_RANKINGS
from labeling.sql import ids_subquery

CHUNK = 5000

_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
_SAMPLE = pa.struct(
    [
        ("sample_id", pa.int64()),
        ("text", pa.string()),
        ("rank", pa.int64()),
        ("score", pa.int64()),
        ("flags", pa.list_(pa.string())),
        ("origin", pa.string()),
        ("checkpoint_id", pa.string()),
        ("round_number", pa.int64()),
        ("generation", pa.string()),
    ]
)


def schema_for(kind: str, options: ExportOptions) -> pa.Schema:
    """The fixed column schema of an export, so that even an empty file has typed columns."""
    if kind == ExportKind.SFT:
        head = (
            [("messages", pa.list_(_MESSAGE))]
            if options.style == "messages"
            else [("prompt", pa.string()), ("completion", pa.string())]
        )
        tail = [("demonstration_id", pa.int64()), ("prompt_id", pa.int64()), ("split", pa.string()), ("labeler", pa.string())]
        return pa.schema(head + tail)
    if kind == ExportKind.PREFERENCE:
        text = pa.list_(_MESSAGE) if options.style == "messages" else pa.string()
        return pa.schema(
            [
                ("prompt", text),
                ("chosen", text),
                ("rejected", text),
                ("ranking_id", pa.int64()),
                ("prompt_id", pa.int64()),
                ("chosen_rank", pa.int64()),
                ("rejected_rank", pa.int64()),
                ("tied", pa.bool_()),
                ("labeler", pa.string()),
            ]
        )
    if kind == ExportKind.RANKINGS:
        return pa.schema(
            [
                ("ranking_id", pa.int64()),
                ("task_id", pa.int64()),
                ("prompt_id", pa.int64()),
                ("prompt", pa.string()),
                ("split", pa.string()),
                ("round_number", pa.int64()),
                ("labeler", pa.string()),
                ("created_at", pa.string()),
                ("time_spent_ms", pa.int64()),
                ("none_acceptable", pa.bool_()),
                ("order", pa.list_(pa.list_(pa.int64()))),
                ("shown_order", pa.list_(pa.int64())),
                ("samples", pa.list_(_SAMPLE)),
            ]
        )
    return pa.schema([("prompt_id", pa.int64()), ("prompt", pa.string()), ("category", pa.string())])


class Labelers:
    """Labeler names for export rows: a keyed pseudonym (HMAC of the user id with the export's
    salt) or, when not pseudonymising, the username. Usernames are looked up once per user."""

    def __init__(self, *, salt: str, pseudonymize: bool):
        self._key = salt.encode()
        self._pseudonymize = pseudonymize
        self._cache: dict[int, str] = {}

    def name(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        found = self._cache.get(user_id)
        if found is None:
            if self._pseudonymize:
                found = "labeler-" + hmac.new(self._key, str(user_id).encode(), hashlib.sha256).hexdigest()[:12]
            else:
                found = get_user_model().objects.filter(id=user_id).values_list("username", flat=True).first() or ""
            self._cache[user_id] = found
        return found


def source_queryset(*, project: Project, kind: str, options: ExportOptions, id_cutoff: int | None, snapshot=None) -> QuerySet:
    """The source records an export selects, before the id cutoff when one is given."""
    if kind == ExportKind.SFT:
        qs = Demonstration.objects.filter(prompt__project=project)
        split_field, labeler_field = "prompt__split", "labeler__username"
        if snapshot is not None:
            qs = qs.filter(id__in=ids_subquery(snapshot.demonstration_ids))
    elif kind in (ExportKind.PREFERENCE, ExportKind.RANKINGS):
        qs = Ranking.objects.filter(task__project=project)
        split_field, labeler_field = "task__prompt__split", "labeler__username"
        if snapshot is not None:
            qs = qs.filter(id__in=ids_subquery(snapshot.ranking_ids))
        if options.round is not None:
            qs = qs.filter(task__round_number=options.round)
    else:
        qs = Prompt.objects.filter(project=project, split=Split.EVAL)
        split_field, labeler_field = "split", None
    if options.split:
        qs = qs.filter(**{split_field: options.split})
    if options.labeler and labeler_field:
        qs = qs.filter(**{labeler_field: options.labeler})
    if options.after():
        qs = qs.filter(created_at__gte=options.after())
    if options.before():
        qs = qs.filter(created_at__lt=options.before())
    if options.min_agreement is not None and kind in (ExportKind.PREFERENCE, ExportKind.RANKINGS):
        # Agreement counts every labeler's rankings up to the cutoff (see export_prepare), so a
        # replay sees the agreement the first run saw.
        through = id_cutoff if id_cutoff is not None else ALL_RANKINGS
        qs = qs.filter(id__in=RawSQL(AGREEING_RANKINGS_SQL, [project.pk, through, options.min_agreement]))
    if id_cutoff is not None:
        qs = qs.filter(id__lte=id_cutoff)
    return qs.order_by("id")


def source_id_cutoff(queryset: QuerySet) -> int:
    """The highest id the export may include: fixed when the job is created."""
    return queryset.aggregate(m=Max("id"))["m"] or 0


def _fetch(queryset: QuerySet) -> list[tuple]:
    """All rows of a values_list queryset as plain tuples from the driver.

    Skips the ORM's per-row conversion, which costs more than the query here; only for columns
    that need no conversion on PostgreSQL (numbers, text, timestamps, uuids; JSON arrives as
    text). Other databases get the ORM's conversions.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _keyset(queryset: QuerySet, columns: tuple[str, ...], chunk: int | None) -> Iterator[list[tuple]]:
    chunk = chunk or CHUNK
    last = 0
    while True:
        page = queryset.filter(id__gt=last).values_list("id", *columns)[:chunk]
        rows = _fetch(page)
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _iso(dt) -> str:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _user(content: str) -> list[dict]:
    return [{"role": "user", "content": content}]


def _assistant(content: str) -> list[dict]:
    return [{"role": "assistant", "content": content}]


def sft_batches(queryset: QuerySet, options: ExportOptions, labelers: Labelers, chunk: int | None = None):
    """One row per demonstration."""
    for rows in _keyset(queryset, ("prompt_id", "prompt__text", "text", "prompt__split", "labeler_id"), chunk):
        if options.style == "messages":
            cols = {"messages": [_user(r[2]) + _assistant(r[3]) for r in rows]}
        else:
            cols = {"prompt": [r[2] for r in rows], "completion": [r[3] for r in rows]}
        cols.update(
            demonstration_id=[r[0] for r in rows],
            prompt_id=[r[1] for r in rows],
            split=[r[4] for r in rows],
            labeler=[labelers.name(r[5]) for r in rows],
        )
        yield [r[0] for r in rows], cols


def _entries_by_ranking(queryset: QuerySet, ranking_ids: list[int], columns: tuple[str, ...]) -> dict[int, list[tuple]]:
    """The entries of one page of rankings, best first, grouped by ranking id.

    The page is given to the database as an id range, or as the filtered ranking query bounded
    by that range (a semi-join) -- never as thousands of bound parameters.
    """
    grouped: dict[int, list[tuple]] = {rid: [] for rid in ranking_ids}
    first, last = ranking_ids[0], ranking_ids[-1]
    if last - first + 1 == len(ranking_ids):
        # Every id in the range is selected (the common case): a plain range scan is exact.
        selected = Q(ranking_id__gte=first, ranking_id__lte=last)
    else:
        selected = Q(ranking_id__in=queryset.filter(id__gte=first, id__lte=last).values("id"))
    entries = (
        RankingEntry.objects.filter(selected)
        .order_by("ranking_id", "rank", "sample_id")
        .values_list("ranking_id", "rank", "sample_id", *columns)
    )
    for e in _fetch(entries):
        grouped[e[0]].append(e[1:])
    return grouped


def preference_pairs(entries: list[tuple], tie_policy: str) -> Iterator[tuple[tuple, tuple, bool]]:
    """(chosen, rejected, tied) for the pairs of one ranking's entries, sorted best first.

    Every pair of samples in different groups gives one pair, better first; tied samples give
    none (``skip``), both orders marked tied (``both``), or void the whole ranking (``drop_ranking``).
    """
    has_tie = any(a[0] == b[0] for a, b in zip(entries, entries[1:]))
    if has_tie and tie_policy == "drop_ranking":
        return
    for i, better in enumerate(entries):
        for worse in entries[i + 1 :]:
            if better[0] < worse[0]:
                yield better, worse, False
            elif tie_policy == "both":
                yield better, worse, True
                yield worse, better, True


@dataclass(frozen=True)
class _PairPlan:
    """The pairs of every ranking with one rank pattern, as index getters over its samples."""

    n: int
    chosen: Callable[[list], tuple]
    rejected: Callable[[list], tuple]
    chosen_ranks: tuple[int, ...]
    rejected_ranks: tuple[int, ...]
    tied: tuple[bool, ...]


def _getter(indices: list[int]) -> Callable[[list], tuple]:
    if len(indices) == 1:
        only = indices[0]
        return lambda seq: (seq[only],)
    return itemgetter(*indices)


@lru_cache(maxsize=4096)
def _pair_plan(ranks: tuple[int, ...], tie_policy: str) -> _PairPlan | None:
    # K = 4 rankings have at most 75 rank patterns: the pairs of each are worked out once and
    # applied to each ranking's samples by C-level getters.
    pairs = list(preference_pairs([(r, i) for i, r in enumerate(ranks)], tie_policy))
    if not pairs:
        return None
    return _PairPlan(
        n=len(pairs),
        chosen=_getter([b[1] for b, _w, _t in pairs]),
        rejected=_getter([w[1] for _b, w, _t in pairs]),
        chosen_ranks=tuple(b[0] for b, _w, _t in pairs),
        rejected_ranks=tuple(w[0] for _b, w, _t in pairs),
        tied=tuple(t for _b, _w, t in pairs),
    )


def preference_batches(queryset: QuerySet, options: ExportOptions, labelers: Labelers, chunk: int | None = None):
    """Every pair of every ranking, grouped by ranking (ranking_id) in id order."""
    messages = options.style == "messages"
    tie_policy = options.tie_policy
    names = ("prompt", "chosen", "rejected", "ranking_id", "prompt_id", "chosen_rank", "rejected_rank", "tied", "labeler")
    for rows in _keyset(queryset, ("task__prompt_id", "task__prompt__text", "labeler_id"), chunk):
        ids = [r[0] for r in rows]
        grouped = _entries_by_ranking(queryset, ids, ("sample__text",))
        cols: dict[str, list] = {k: [] for k in names}
        prompt, chosen, rejected, rid_col, pid_col, crank, rrank, tied_col, lab = (cols[k] for k in names)
        for rid, prompt_id, prompt_text, labeler_id in rows:
            entries = grouped[rid]
            plan = _pair_plan(tuple([e[0] for e in entries]), tie_policy)
            if plan is None:
                continue
            texts = [_assistant(e[2]) for e in entries] if messages else [e[2] for e in entries]
            n = plan.n
            prompt.extend([_user(prompt_text) if messages else prompt_text] * n)
            chosen.extend(plan.chosen(texts))
            rejected.extend(plan.rejected(texts))
            rid_col.extend([rid] * n)
            pid_col.extend([prompt_id] * n)
            crank.extend(plan.chosen_ranks)
            rrank.extend(plan.rejected_ranks)
            tied_col.extend(plan.tied)
            lab.extend([labelers.name(labeler_id)] * n)
        yield ids, cols


def rankings_batches(queryset: QuerySet, options: ExportOptions, labelers: Labelers, chunk: int | None = None):
    """One row per ranking: its samples best first with scores, flags and provenance."""
    columns = (
        "task_id", "task__prompt_id", "task__prompt__text", "task__prompt__split", "task__round_number",
        "labeler_id", "created_at", "time_spent_ms", "none_acceptable", "order", "shown_order",
    )  # fmt: skip
    entry_columns = (
        "sample__text", "score", "flags", "sample__origin", "sample__checkpoint_id", "sample__round_number", "sample__generation",
    )  # fmt: skip
    names = ("ranking_id",) + tuple(
        ("task_id", "prompt_id", "prompt", "split", "round_number", "labeler", "created_at", "time_spent_ms",
         "none_acceptable", "order", "shown_order")
    ) + ("samples",)  # fmt: skip
    for rows in _keyset(queryset, columns, chunk):
        ids = [r[0] for r in rows]
        grouped = _entries_by_ranking(queryset, ids, entry_columns)
        cols: dict[str, list] = {n: [] for n in names}
        for r in rows:
            values = (
                r[0], r[1], r[2], r[3], r[4], r[5], labelers.name(r[6]), _iso(r[7]), r[8], r[9],
                _json(r[10]), _json(r[11]),
            )  # fmt: skip
            for n, v in zip(names, values):
                cols[n].append(v)
            cols["samples"].append(
                [
                    {
                        "sample_id": e[1],
                        "text": e[2],
                        "rank": e[0],
                        "score": e[3],
                        "flags": _flags(e[4]),
                        "origin": e[5],
                        "checkpoint_id": str(e[6]) if e[6] else None,
                        "round_number": e[7],
                        # JSON text, as the database stores it: generation settings differ in
                        # keys between models, and a fixed column type keeps every reader's
                        # schema stable.
                        "generation": e[8] if isinstance(e[8], str) else json.dumps(e[8] or {}, sort_keys=True),
                    }
                    for e in grouped[r[0]]
                ]
            )
        yield ids, cols


def _json(value):
    # Raw driver rows carry JSON columns as text.
    return json.loads(value) if isinstance(value, str) else value


@lru_cache(maxsize=1024)
def _flags_from_text(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text) or ())


def _flags(value) -> list[str]:
    # A handful of distinct flag lists repeat across millions of entries: decode each once.
    return list(_flags_from_text(value)) if isinstance(value, str) else list(value or [])


def eval_batches(queryset: QuerySet, options: ExportOptions, labelers: Labelers, chunk: int | None = None):
    """One row per held-out prompt."""
    for rows in _keyset(queryset, ("text", "category"), chunk):
        yield [r[0] for r in rows], {"prompt_id": [r[0] for r in rows], "prompt": [r[1] for r in rows], "category": [r[2] for r in rows]}


BATCHES = {
    ExportKind.SFT: sft_batches,
    ExportKind.PREFERENCE: preference_batches,
    ExportKind.RANKINGS: rankings_batches,
    ExportKind.EVAL: eval_batches,
}


_DONE = object()


def read_ahead(make_batches: Callable[[], Iterator], *, depth: int = 2) -> Iterator:
    """Produce batches on a background thread while the caller writes the previous ones.

    Database waits and the writers' C code (file I/O, Parquet encoding) release the GIL, so
    reading and writing overlap. The thread reads on its own database connection, in
    autocommit like the caller's (each page is its own snapshot either way), and closes it at
    the end. At most `depth` batches wait in memory.
    """
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in make_batches():
                while not stop.is_set():
                    try:
                        out.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            out.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            out.put(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=produce, name="export-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
