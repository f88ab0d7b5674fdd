"""Prompt imports: three formats, BOM, per-line errors, duplicates, limits, all or nothing."""

from __future__ import annotations

import json

import pytest

from config.errors import ApplicationError, Conflict
from labeling.models import Prompt, Task
from labeling.services import prompt_create, prompt_delete, prompt_update, prompts_import
from tests.factories import PromptFactory

pytestmark = pytest.mark.django_db


def _errors(exc) -> list[tuple[int, str]]:
    assert exc.value.code == "import_invalid"
    return [(e["line"], e["field"]) for e in exc.value.details["errors"]]


JSONL = b'{"text": "What color is the sky?", "category": "closed_qa"}\n\n{"text": "What is 2+2?", "split": "eval", "metadata": {"answer": "4"}}\n'
CSV = "text,category,split,metadata\n\"What color is the sky?\",Closed QA,train,\n\"Multi\nline\",,eval,\"{\"\"a\"\": 1}\"\n".encode()
JSON_ARRAY = json.dumps([{"text": "What color is the sky?"}, {"text": "Résumé?", "split": "eval"}]).encode()


@pytest.mark.parametrize(
    ("data", "fmt"),
    [(JSONL, "jsonl"), (CSV, "csv"), (JSON_ARRAY, "json"), (b"\xef\xbb\xbf" + JSONL, None), (b"\xef\xbb\xbf" + CSV, "csv")],
)
def test_each_format_imports(project, data, fmt):
    prompts = prompts_import(project=project, data=data, format=fmt)
    assert len(prompts) == 2 == Prompt.objects.filter(project=project).count()
    train = [p for p in prompts if p.split == "train"]
    # Train prompts get their demonstration tasks; eval prompts do not.
    assert Task.objects.filter(kind=Task.Kind.DEMONSTRATION).count() == len(train) == 1
    assert Prompt.objects.filter(text="What color is the sky?").get().text_hash


def test_csv_fields_are_normalised(project):
    prompts = prompts_import(project=project, data=CSV, format="csv")
    assert prompts[0].category == "closed_qa"
    assert (prompts[1].text, prompts[1].metadata) == ("Multi\nline", {"a": 1})


def test_every_bad_line_is_reported_and_nothing_is_written(project):
    PromptFactory(project=project, text="Already here?")
    data = b"\n".join(
        [
            b'{"text": "Fine?"}',
            b'{"text": ""}',
            b"not json",
            b'{"text": "Fine?"}',
            b'{"text": "Already here?"}',
            b'{"text": "x", "category": "poetry"}',
            b'{"text": "y", "split": "test"}',
            b'{"text": "z", "colour": "red"}',
            b'["a list"]',
            b'{"text": "m", "metadata": [1]}',
        ]
    )
    with pytest.raises(ApplicationError) as exc:
        prompts_import(project=project, data=data, format="jsonl")
    assert _errors(exc) == [
        (2, "text"), (3, ""), (4, "text"), (5, "text"), (6, "category"), (7, "split"), (8, "colour"), (9, ""), (10, "metadata"),
    ]
    assert "line 2" in exc.value.message
    assert Prompt.objects.count() == 1 and not Task.objects.exists()


def test_bad_encoding_and_limits(project, settings):
    with pytest.raises(ApplicationError) as exc:
        prompts_import(project=project, data=b'{"text": "ok"}\n{"text": "\xff"}', format="jsonl")
    assert _errors(exc) == [(2, "")]
    settings.LABELING = {**settings.LABELING, "MAX_IMPORT_ROWS": 1}
    with pytest.raises(ApplicationError) as exc:
        prompts_import(project=project, data=JSONL, format="jsonl")
    assert "limit is 1" in exc.value.message
    settings.LABELING = {**settings.LABELING, "MAX_IMPORT_BYTES": 10}
    with pytest.raises(ApplicationError):
        prompts_import(project=project, data=JSONL, format="jsonl")
    settings.LABELING = {**settings.LABELING, "MAX_IMPORT_BYTES": 10_000, "MAX_IMPORT_ROWS": 10, "MAX_TEXT_CHARS": 5}
    with pytest.raises(ApplicationError) as exc:
        prompts_import(project=project, data=JSONL, format="jsonl")
    assert _errors(exc) == [(1, "text"), (3, "text")]
    assert not Prompt.objects.exists()


def test_csv_without_text_column_and_empty_files(project):
    with pytest.raises(ApplicationError) as exc:
        prompts_import(project=project, data=b"prompt\nhello\n", format="csv")
    assert _errors(exc) == [(1, "text")]
    with pytest.raises(ApplicationError):
        prompts_import(project=project, data=b"", format="jsonl")
    with pytest.raises(ApplicationError) as exc:
        prompts_import(project=project, data=b'{"text": "a"}', format="yaml")
    assert exc.value.details["field"] == "format"


def test_without_demonstration_tasks(project):
    prompts_import(project=project, data=JSONL, format="jsonl", create_demonstration_tasks=False)
    assert not Task.objects.exists()


def test_single_prompt_services(project):
    prompt = prompt_create(project=project, text="  What color is snow?  ", category="closed_qa")
    assert prompt.text == "What color is snow?"
    assert Task.objects.filter(prompt=prompt, kind="demonstration", overlap=project.overlap).exists()
    with pytest.raises(Conflict):
        prompt_create(project=project, text="What color is snow?")
    prompt = prompt_update(prompt=prompt, split="eval", metadata={"answer": "White."})
    assert (prompt.split, prompt.metadata) == ("eval", {"answer": "White."})
    with pytest.raises(ApplicationError):
        prompt_update(prompt=prompt, category="poetry")
    prompt_delete(prompt=prompt)
    assert not Prompt.objects.exists()
