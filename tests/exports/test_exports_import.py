"""Importing demonstrations, pairs and rankings: per-line errors, all or nothing, BOM, limits,
admin-only API, and the export -> import round trip."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from config.errors import ApplicationError
from exports.services import export_file_write, export_prepare
from labeling.models import Demonstration, Project, Prompt, Ranking, RankingEntry, Sample, Task
from labeling.services.preference_import import preference_import


def lines(*rows) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def client_for(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_demonstrations_in_both_shapes_with_bom(project):
    data = "\ufeff".encode() + lines(
        {"prompt": "Say hi", "completion": "Hi!"},
        {"messages": [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "Say bye"}, {"role": "assistant", "content": "Bye!"}], "split": "eval"},
    )
    summary = preference_import(project=project, kind="demonstrations", data=data)
    assert summary.demonstrations == 2 and summary.prompts_created == 2
    assert list(Demonstration.objects.order_by("id").values_list("prompt__text", "text", "prompt__split", "labeler")) == [
        ("Say hi", "Hi!", "train", None),
        ("Say bye", "Bye!", "eval", None),
    ]


def test_pairs_become_two_way_rankings_reusing_prompts(project):
    Prompt.objects.create(project=project, text="Q")
    summary = preference_import(
        project=project,
        kind="pairs",
        data=lines({"prompt": "Q", "chosen": "good", "rejected": "bad"}, {"prompt": "Q", "chosen": "ok", "rejected": "meh", "tied": True}),
    )
    assert (summary.prompts_created, summary.prompts_reused, summary.rankings, summary.samples) == (0, 1, 2, 4)
    first, second = Ranking.objects.order_by("id")
    assert first.assignment is None and first.labeler is None and first.task.status == Task.Status.COMPLETE
    texts = dict(Sample.objects.values_list("id", "text"))
    assert [[texts[i] for i in g] for g in first.order] == [["good"], ["bad"]]
    assert [[texts[i] for i in g] for g in second.order] == [["ok", "meh"]]
    assert set(first.entries.values_list("score", flat=True)) == {4}


def test_errors_name_line_and_field_and_nothing_is_written(project):
    data = lines(
        {"prompt": "fine", "samples": [{"text": "a", "rank": 1}, {"text": "b", "rank": 2}]},
        {"prompt": "", "samples": [{"text": "a", "rank": 1}, {"text": "b", "rank": 2}]},
        {"prompt": "x", "samples": [{"text": "a", "rank": 0}, {"text": "b", "rank": 2, "score": 9, "flags": ["rude"]}]},
    ) + b"\n{not json\n" + lines({"prompt": "y", "samples": [{"text": "only one", "rank": 1}]})
    with pytest.raises(ApplicationError) as exc:
        preference_import(project=project, kind="rankings", data=data)
    errors = [(e["line"], e["field"]) for e in exc.value.details["errors"]]
    assert errors == [(2, "prompt"), (3, "samples[0].rank"), (3, "samples[1].score"), (3, "samples[1].flags"), (4, ""), (5, "samples")]
    assert exc.value.code == "import_invalid" and "line 2, field prompt" in exc.value.message
    assert not Prompt.objects.exists() and not Ranking.objects.exists() and not Sample.objects.exists()


def test_not_utf8_and_limits(project, settings):
    with pytest.raises(ApplicationError) as exc:
        preference_import(project=project, kind="pairs", data=b'{"prompt": "a"}\n{"prompt": "\xff"}')
    assert exc.value.details["errors"][0]["line"] == 2
    settings.LABELING = {**settings.LABELING, "MAX_IMPORT_BYTES": 10}
    with pytest.raises(ApplicationError, match="larger than 10 bytes"):
        preference_import(project=project, kind="pairs", data=b"x" * 11)
    settings.LABELING = {**settings.LABELING, "MAX_IMPORT_BYTES": 10_000, "MAX_IMPORT_ROWS": 1}
    with pytest.raises(ApplicationError, match="More than 1 rows"):
        preference_import(project=project, kind="pairs", data=lines(*[{"prompt": "p", "chosen": "a", "rejected": "b"}] * 2))


def test_api_is_for_admins_and_reports_errors(project, admin_user, engineer, labeler):
    url = f"/api/projects/{project.slug}/import/pairs/"
    good = lines({"prompt": "Q", "chosen": "good", "rejected": "bad"})
    for user, expected in ((labeler, 403), (engineer, 403), (None, (401, 403))):
        response = client_for(user).post(url, {"file": SimpleUploadedFile("p.jsonl", good)}, format="multipart")
        assert response.status_code in ((expected,) if isinstance(expected, int) else expected)
    response = client_for(admin_user).post(url, {"file": SimpleUploadedFile("p.jsonl", b'{"prompt": "Q", "chosen": 3}')}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0] == {"line": 1, "field": "chosen", "message": "Must be a string."}
    response = client_for(admin_user).post(url, {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["error"]["fields"]
    response = client_for(admin_user).post(f"/api/projects/{project.slug}/import/bogus/", {"file": SimpleUploadedFile("p.jsonl", good)}, format="multipart")
    assert response.status_code == 404
    response = client_for(admin_user).post(url, {"file": SimpleUploadedFile("p.jsonl", good)}, format="multipart")
    assert response.status_code == 201 and response.json()["rankings"] == 1


def test_rankings_round_trip_through_export_and_import(filled, project, tmp_path):
    options, _, cutoff = export_prepare(project=project, kind="rankings", fmt="jsonl", raw_options={})
    first = tmp_path / "first.jsonl"
    export_file_write(project=project, kind="rankings", fmt="jsonl", options=options, salt="s", pseudonymize=True, id_cutoff=cutoff, out_path=first)
    copy = Project.objects.create(name="Copy", slug="copy")
    call_command("import_preferences", project="copy", kind="rankings", file=str(first), stdout=open("/dev/null", "w"))
    options, _, cutoff = export_prepare(project=copy, kind="rankings", fmt="jsonl", raw_options={})
    second = tmp_path / "second.jsonl"
    export_file_write(project=copy, kind="rankings", fmt="jsonl", options=options, salt="s", pseudonymize=True, id_cutoff=cutoff, out_path=second)

    def essence(path):
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        return [
            (r["prompt"], r["split"], r["time_spent_ms"], r["none_acceptable"], [(s["text"], s["rank"], s["score"], s["flags"], json.loads(s["generation"])) for s in r["samples"]])
            for r in rows
        ]

    assert essence(second) == essence(first)
    assert RankingEntry.objects.filter(ranking__task__project=copy).count() == 7
    # Imported samples say where they came from; demonstrations and pairs keep their texts too.
    assert set(Sample.objects.filter(prompt__project=copy).values_list("origin", flat=True)) == {"imported"}


def test_sft_and_pairs_round_trip(filled, project, tmp_path):
    copy = Project.objects.create(name="Copy2", slug="copy2")
    for kind, import_kind, style in (("sft", "demonstrations", "messages"), ("preference", "pairs", "messages")):
        options, _, cutoff = export_prepare(project=project, kind=kind, fmt="jsonl", raw_options={"style": style})
        out = tmp_path / f"{kind}.jsonl"
        export_file_write(project=project, kind=kind, fmt="jsonl", options=options, salt="s", pseudonymize=True, id_cutoff=cutoff, out_path=out)
        preference_import(project=copy, kind=import_kind, data=out.read_bytes())
    assert sorted(Demonstration.objects.filter(prompt__project=copy).values_list("text", flat=True)) == ["+1 hi", "The sky is blue."]
    assert Ranking.objects.filter(task__project=copy).count() == 8
