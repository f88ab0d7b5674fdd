"""Export file content per kind and format, tie policies, pseudonyms, filters, CSV injection,
determinism and atomic writes."""

from __future__ import annotations

import csv
import io
import json

import datasets
import pytest

from config.errors import ApplicationError
from exports.options import export_options_parse
from exports.services import export_file_write, export_prepare

SALT = "0" * 32


def write(project, tmp_path, kind, fmt="jsonl", name=None, pseudonymize=True, salt=SALT, **raw):
    options, _snapshot, cutoff = export_prepare(project=project, kind=kind, fmt=fmt, raw_options=raw)
    out = tmp_path / (name or f"{kind}.{fmt}")
    result = export_file_write(
        project=project, kind=kind, fmt=fmt, options=options, salt=salt, pseudonymize=pseudonymize, id_cutoff=cutoff, out_path=out
    )
    return out, result


def jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_sft_messages_and_prompt_completion(filled, project, tmp_path):
    out, result = write(project, tmp_path, "sft")
    rows = jsonl(out)
    assert result.rows_written == result.rows_total == 2
    assert rows[0]["messages"] == [
        {"role": "user", "content": "What color is the sky?"},
        {"role": "assistant", "content": "The sky is blue."},
    ]
    assert rows[0]["demonstration_id"] == filled["demos"][0].id and rows[0]["split"] == "train"
    out, _ = write(project, tmp_path, "sft", style="prompt_completion", name="pc.jsonl")
    assert [(r["prompt"], r["completion"]) for r in jsonl(out)] == [
        ("What color is the sky?", "The sky is blue."),
        ('=HYPERLINK("http://x") say hi', "+1 hi"),
    ]


def test_preference_pairs_skip_ties_by_default(filled, project, tmp_path):
    out, result = write(project, tmp_path, "preference")
    rows = jsonl(out)
    r1, r2 = filled["rankings"]
    first = [(r["chosen"], r["rejected"]) for r in rows if r["ranking_id"] == r1.id]
    # 4 samples in 4 groups: all 6 pairs, better first.
    assert first == [
        ("Blue, on a clear day.", "Blue."),
        ("Blue, on a clear day.", "Green."),
        ("Blue, on a clear day.", "@cmd"),
        ("Blue.", "Green."),
        ("Blue.", "@cmd"),
        ("Green.", "@cmd"),
    ]
    # "Hi!" and "Hello!" tie: only their pairs against "No." remain.
    second = [(r["chosen"], r["rejected"], r["tied"]) for r in rows if r["ranking_id"] == r2.id]
    assert second == [("Hi!", "No.", False), ("Hello!", "No.", False)]
    assert result.rows_total == 2 and result.rows_written == 8
    assert all(r["prompt"] == "What color is the sky?" for r in rows[:6])


def test_preference_tie_policies(filled, project, tmp_path):
    r2 = filled["rankings"][1]
    out, _ = write(project, tmp_path, "preference", tie_policy="both", name="both.jsonl")
    tied = [(r["chosen"], r["rejected"]) for r in jsonl(out) if r["ranking_id"] == r2.id and r["tied"]]
    assert tied == [("Hi!", "Hello!"), ("Hello!", "Hi!")]
    out, result = write(project, tmp_path, "preference", tie_policy="drop_ranking", name="drop.jsonl")
    assert {r["ranking_id"] for r in jsonl(out)} == {filled["rankings"][0].id}
    assert result.rows_written == 6


def test_preference_messages_style_and_parquet_load(filled, project, tmp_path):
    out, _ = write(project, tmp_path, "preference", "parquet", style="messages")
    ds = datasets.load_dataset("parquet", data_files=str(out), split="train")
    assert ds.num_rows == 8
    assert ds[0]["prompt"] == [{"role": "user", "content": "What color is the sky?"}]
    assert ds[0]["chosen"] == [{"role": "assistant", "content": "Blue, on a clear day."}]


def test_rankings_rows_carry_provenance_and_pseudonyms(filled, project, tmp_path):
    out, _ = write(project, tmp_path, "rankings")
    rows = jsonl(out)
    r1 = filled["rankings"][0]
    row = rows[0]
    assert row["ranking_id"] == r1.id and row["round_number"] == 1 and row["time_spent_ms"] == 1234
    assert row["order"] == r1.order and row["shown_order"] == r1.shown_order
    assert [s["text"] for s in row["samples"]] == ["Blue, on a clear day.", "Blue.", "Green.", "@cmd"]
    assert [s["rank"] for s in row["samples"]] == [1, 2, 3, 4]
    green = row["samples"][2]
    assert green["flags"] == ["hallucination"] and green["origin"] == "model"
    assert green["checkpoint_id"] == "00000000-0000-4000-8000-000000000001"
    assert json.loads(green["generation"]) == {"seed": 2, "temperature": 0.7}
    labeler = filled["labelers"][0]
    assert row["labeler"].startswith("labeler-") and labeler.username not in out.read_text()
    # Stable within an export, different under another salt, the username when asked.
    out2, _ = write(project, tmp_path, "rankings", name="again.jsonl")
    assert jsonl(out2)[0]["labeler"] == row["labeler"]
    out3, _ = write(project, tmp_path, "rankings", name="salted.jsonl", salt="1" * 32)
    assert jsonl(out3)[0]["labeler"] != row["labeler"]
    out4, _ = write(project, tmp_path, "rankings", name="named.jsonl", pseudonymize=False)
    assert jsonl(out4)[0]["labeler"] == labeler.username
    # Parquet carries the same nested rows.
    pq_out, _ = write(project, tmp_path, "rankings", "parquet")
    ds = datasets.load_dataset("parquet", data_files=str(pq_out), split="train")
    assert ds[0]["samples"][2]["flags"] == ["hallucination"] and ds[0]["order"] == r1.order


def test_eval_holds_only_held_out_prompts(filled, project, tmp_path):
    out, _ = write(project, tmp_path, "eval")
    assert jsonl(out) == [{"prompt_id": filled["eval"].id, "prompt": "Why is the sea blue?", "category": "other"}]
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    assert ds.column_names == ["prompt_id", "prompt", "category"]


def test_filters_labeler_round_split_dates(filled, project, tmp_path):
    r1, r2 = filled["rankings"]
    labeler = filled["labelers"][1]
    out, _ = write(project, tmp_path, "rankings", labeler=labeler.username, name="lab.jsonl")
    assert [r["ranking_id"] for r in jsonl(out)] == [r2.id]
    out, _ = write(project, tmp_path, "rankings", round=1, name="round.jsonl")
    assert [r["ranking_id"] for r in jsonl(out)] == [r1.id]
    out, result = write(project, tmp_path, "sft", split="eval", name="split.jsonl")
    assert result.rows_written == 0 and out.read_bytes() == b""
    out, result = write(project, tmp_path, "rankings", created_after="2999-01-01T00:00:00Z", name="late.jsonl")
    assert result.rows_total == 0


def _labeler(name):
    from django.contrib.auth.models import User

    return User.objects.create_user(name)


def _rank_again(ranking, labeler, ranks):
    """Another labeler's ranking of the same task and samples (sample i gets ranks[i]), counted
    on the task as a submit counts it."""
    from django.db.models import F

    from labeling.models import Ranking, RankingEntry, Task

    Task.objects.filter(pk=ranking.task_id).update(overlap=F("overlap") + 1, submitted_count=F("submitted_count") + 1)

    samples = [e.sample for e in ranking.entries.order_by("sample_id")]
    groups: dict[int, list[int]] = {}
    for sample, rank in zip(samples, ranks):
        groups.setdefault(rank, []).append(sample.id)
    again = Ranking.objects.create(task=ranking.task, labeler=labeler, order=[groups[r] for r in sorted(groups)])
    for sample, rank in zip(samples, ranks):
        RankingEntry.objects.create(ranking=again, sample=sample, rank=rank, score=4)
    return again


def test_min_agreement_keeps_rankings_that_order_pairs_like_their_peers(filled, project, tmp_path):
    r1, r2 = filled["rankings"]  # r1: samples ranked 2, 1, 3, 4; r2's task has no other ranking
    peer, contrarian = _labeler("peer"), _labeler("contrarian")
    agreeing = _rank_again(r1, peer, [2, 1, 4, 3])  # 5 of 6 pairs as r1
    reversed_ = _rank_again(r1, contrarian, [3, 4, 2, 1])  # every pair reversed against r1
    # Agreement: r1 5/6 with the peer + 0/6 with the contrarian = 0.42; the peer 5/6 + 1/6 = 0.5;
    # the contrarian 0/6 + 1/6 = 0.08.
    out, _ = write(project, tmp_path, "rankings", min_agreement=0.6, name="agree.jsonl")
    assert jsonl(out) == []
    out, _ = write(project, tmp_path, "rankings", min_agreement=0.4, name="half.jsonl")
    assert [r["ranking_id"] for r in jsonl(out)] == [r1.id, agreeing.id]
    out, _ = write(project, tmp_path, "preference", min_agreement=0.0, name="pairs.jsonl")
    assert {r["ranking_id"] for r in jsonl(out)} == {r1.id, agreeing.id, reversed_.id}, "r2 shares no task: no agreement"


def test_min_agreement_replays_with_the_agreement_it_had(filled, project, tmp_path):
    from exports.services import export_file_write

    r1 = filled["rankings"][0]
    _rank_again(r1, _labeler("peer"), [2, 1, 3, 4])  # full agreement with r1
    options, _snapshot, cutoff = export_prepare(project=project, kind="rankings", fmt="jsonl", raw_options={"min_agreement": 0.9})

    def run(name):
        return export_file_write(
            project=project, kind="rankings", fmt="jsonl", options=options, salt=SALT, pseudonymize=True, id_cutoff=cutoff, out_path=tmp_path / name
        )

    first = run("first.jsonl")
    assert first.rows_written == 2
    _rank_again(r1, _labeler("late"), [4, 3, 2, 1])  # a later, fully reversed ranking of the same task
    again = run("again.jsonl")
    assert again.sha256 == first.sha256, "a ranking after the cutoff must not change the agreement an export used"
    fresh, _ = write(project, tmp_path, "rankings", min_agreement=0.9, name="fresh.jsonl")
    assert jsonl(fresh) == [], "a new export sees the new disagreement"


def test_bad_options_name_the_field():
    with pytest.raises(ApplicationError) as exc:
        export_options_parse(kind="rankings", fmt="csv", raw={})
    assert exc.value.details["field"] == "format"
    with pytest.raises(ApplicationError) as exc:
        export_options_parse(kind="preference", fmt="jsonl", raw={"tie_policy": "coin"})
    assert exc.value.details["field"] == "tie_policy"
    with pytest.raises(ApplicationError) as exc:
        export_options_parse(kind="sft", fmt="jsonl", raw={"created_after": "yesterday"})
    assert exc.value.details["field"] == "created_after"
    with pytest.raises(ApplicationError) as exc:
        export_options_parse(kind="sft", fmt="jsonl", raw={"round": 1})
    assert exc.value.details["field"] == "round"
    for bad in (1.5, -0.1, "high", True):
        with pytest.raises(ApplicationError) as exc:
            export_options_parse(kind="preference", fmt="jsonl", raw={"min_agreement": bad})
        assert exc.value.details["field"] == "min_agreement"
    with pytest.raises(ApplicationError) as exc:
        export_options_parse(kind="sft", fmt="jsonl", raw={"min_agreement": 0.5})
    assert exc.value.details["field"] == "min_agreement"


def test_csv_neutralises_formulas(filled, project, tmp_path):
    out, _ = write(project, tmp_path, "preference", "csv")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0].keys() >= {"prompt", "chosen", "rejected", "ranking_id"}
    cells = [c for r in rows for c in r.values()]
    assert "'@cmd" in cells and "@cmd" not in cells
    out, _ = write(project, tmp_path, "sft", "csv")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[1]["prompt"] == "'=HYPERLINK(\"http://x\") say hi" and rows[1]["completion"] == "'+1 hi"
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for c in r.values())


@pytest.mark.parametrize("kind,fmt", [("preference", "jsonl"), ("preference", "parquet"), ("rankings", "parquet"), ("sft", "csv")])
def test_same_rows_same_bytes(filled, project, tmp_path, kind, fmt):
    a, ra = write(project, tmp_path, kind, fmt, name=f"a.{fmt}")
    b, rb = write(project, tmp_path, kind, fmt, name=f"b.{fmt}")
    assert a.read_bytes() == b.read_bytes() and ra.sha256 == rb.sha256 and ra.source_digest == rb.source_digest


def test_rows_added_after_the_cutoff_stay_out(filled, project, tmp_path, make_ranking):
    options, _snapshot, cutoff = export_prepare(project=project, kind="rankings", fmt="jsonl", raw_options={})
    make_ranking(project, filled["prompts"][0], None, ["x", "y"], [1, 2])
    result = export_file_write(
        project=project, kind="rankings", fmt="jsonl", options=options, salt=SALT, pseudonymize=True, id_cutoff=cutoff, out_path=tmp_path / "r.jsonl"
    )
    assert result.rows_total == 2


def test_failed_write_leaves_nothing_behind(filled, project, tmp_path, monkeypatch):
    from exports import rows

    def broken(*args, **kwargs):
        yield [1], {"prompt_id": [1], "prompt": ["x"], "category": ["other"]}
        raise RuntimeError("database went away")

    monkeypatch.setitem(rows.BATCHES, "eval", broken)
    with pytest.raises(RuntimeError):
        write(project, tmp_path, "eval", name="broken.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_pages_with_gaps_hold_only_selected_rankings(filled, project, tmp_path, make_ranking):
    labeler, other = filled["labelers"]
    third = make_ranking(project, filled["prompts"][1], labeler, ["Yo", "Nah"], [1, 2])
    # r1 (labeler), r2 (other), third (labeler): a page of r1..third skips r2 in the middle.
    out, result = write(project, tmp_path, "preference", labeler=labeler.username)
    rows = jsonl(out)
    assert {r["ranking_id"] for r in rows} == {filled["rankings"][0].id, third.id}
    assert result.rows_written == 7 and ("Yo", "Nah") in [(r["chosen"], r["rejected"]) for r in rows]


def test_export_dataset_command_writes_and_says_how_to_reproduce(filled, project, tmp_path):
    from django.core.management import CommandError, call_command

    r1 = filled["rankings"][0]
    peer = _rank_again(r1, _labeler("peer"), [2, 1, 3, 4])
    out = tmp_path / "pairs.jsonl"
    stdout = io.StringIO()
    call_command("export_dataset", project=project.slug, kind="preference", out=str(out), min_agreement=0.9,
                 json=True, no_progress=True, stdout=stdout)
    summary = json.loads(stdout.getvalue())
    assert summary["options"]["min_agreement"] == 0.9 and summary["rows"] == len(jsonl(out)) > 0
    assert {row["ranking_id"] for row in jsonl(out)} == {r1.id, peer.id}
    again = tmp_path / "again.jsonl"
    call_command("export_dataset", project=project.slug, kind="preference", out=str(again), min_agreement=0.9,
                 salt=summary["salt"], id_cutoff=summary["id_cutoff"], no_progress=True, stdout=io.StringIO())
    assert again.read_bytes() == out.read_bytes()
    with pytest.raises(CommandError, match="min_agreement"):
        call_command("export_dataset", project=project.slug, kind="sft", out=str(tmp_path / "x"), min_agreement=0.5, no_progress=True)
    with pytest.raises(CommandError, match="No project"):
        call_command("export_dataset", project="nope", kind="sft", out=str(tmp_path / "x"), no_progress=True)
    assert not (tmp_path / "x").exists()


def test_snapshot_exports_take_more_ids_than_postgres_takes_parameters(filled, project, tmp_path):
    from training.models import DataSnapshot

    r1 = filled["rankings"][0]
    absent = list(range(10**12, 10**12 + 70_000))
    snapshot = DataSnapshot.objects.create(
        project=project, ranking_ids=[*absent, r1.id], demonstration_ids=[*absent, filled["demos"][0].id]
    )
    out, _ = write(project, tmp_path, "rankings", snapshot=str(snapshot.id), name="snap.jsonl")
    assert [r["ranking_id"] for r in jsonl(out)] == [r1.id]
    out, result = write(project, tmp_path, "sft", snapshot=str(snapshot.id), name="snap-sft.jsonl")
    assert result.rows_written == 1
