"""An admin schedules a round and watches its progress, and reads labeler activity and
agreement; an ML engineer exports a dataset and downloads the file."""

import json
import uuid

import pytest

from django.utils import timezone

from exports import services as export_services
from exports.models import ExportJob
from labeling.models import Demonstration, Task
from labeling.services import assignment_claim_next, assignment_submit_ranking
from training.models import Checkpoint, DataSnapshot, TrainingJob, TrainingRound

from . import data
from .conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_schedules_a_round_and_sees_stage_progress(page):
    data.project()
    data.user_with_roles("ada", "admin")
    login(page, "ada", data.PASSWORD)

    page.get_by_role("link", name="Projects").click()
    page.get_by_role("link", name="Rounds").first.click()
    page.get_by_role("heading", name="Schedule a round").wait_for()
    screenshot(page, "admin-rounds")
    page.get_by_role("button", name="Schedule round").click()
    page.get_by_role("heading", name="Round 1").wait_for()

    # No worker runs here: stand in for one by writing the progress a worker would report.
    round_ = TrainingRound.objects.get()
    TrainingJob.objects.create(
        round=round_, stage=TrainingJob.Stage.SFT, order=0, status=TrainingJob.Status.SUCCEEDED, step=20, total_steps=20,
        metrics=[{"step": s, "loss": 2.0 / s} for s in range(1, 21)],
    )
    TrainingJob.objects.create(
        round=round_, stage=TrainingJob.Stage.REWARD, order=1, status=TrainingJob.Status.RUNNING, step=3, total_steps=10,
        lease_id=uuid.uuid4(), heartbeat_at=timezone.now(), worker="test-worker",
        metrics=[{"step": 1, "accuracy": 0.5}, {"step": 2, "accuracy": 0.6}, {"step": 3, "accuracy": 0.7}],
    )
    TrainingRound.objects.filter(pk=round_.pk).update(status=TrainingRound.Status.RUNNING, started_at=timezone.now())

    reward = page.get_by_test_id("job-reward")
    reward.get_by_text("3/10 (30%)").wait_for()
    assert page.get_by_role("progressbar", name="reward progress").get_attribute("aria-valuenow") == "3"
    page.get_by_test_id("job-sft").get_by_text("20/20 (100%)").wait_for()
    assert page.get_by_role("img", name="sft over steps: loss over step").is_visible()
    screenshot(page, "admin-round-progress")
    assert page.js_errors == []


def test_admin_sees_labeler_agreement(page):
    proj = data.project()
    task, samples = data.ranking_task(proj, "Name a color.", ["Blue.", "Red.", "Green.", "Grey."])
    Task.objects.filter(pk=task.pk).update(overlap=2)
    ids = [s.pk for s in samples]
    for name, order in (("lab1", ids), ("lab2", [ids[1], ids[0], *ids[2:]])):  # lab2 swaps the first two
        labeler = data.user_with_roles(name, "labeler")
        assignment = assignment_claim_next(user=labeler, project=proj, kind="ranking")
        assignment_submit_ranking(
            assignment_id=assignment.pk, user=labeler, order=[[i] for i in order], scores={str(i): 4 for i in ids}
        )
    data.user_with_roles("ada", "admin")
    login(page, "ada", data.PASSWORD)

    page.get_by_role("link", name="Projects").click()
    page.get_by_role("link", name="Edit, prompts, activity").click()
    page.get_by_role("heading", name="Labeler activity").wait_for()
    row = page.get_by_role("row", name="lab1")
    row.wait_for()
    assert "83% of 6 pairs" in row.inner_text()
    assert "83% of 6 pairs" in page.get_by_role("row", name="lab2").inner_text()
    assert "(chance 25%)" in row.inner_text(), "position bias next to what chance gives"
    screenshot(page, "admin-labeler-activity")
    assert page.js_errors == []


def test_engineer_creates_and_downloads_an_export(page):
    proj = data.project()
    task = data.demonstration_task(proj, "Say hello politely.")
    labeler = data.user_with_roles("lab", "labeler")
    Demonstration.objects.create(prompt=task.prompt, labeler=labeler, text="Hello, and welcome!")
    data.user_with_roles("eng", "ml_engineer")
    login(page, "eng", data.PASSWORD)

    page.get_by_role("link", name="Exports").click()
    # The agreement filter is offered for ranking data only, as a percentage.
    page.get_by_label("Dataset").select_option("preference")
    page.get_by_label("Minimum labeler agreement (%)").fill("80")
    page.get_by_role("button", name="Start export").click()
    page.get_by_text("queued").first.wait_for()
    assert ExportJob.objects.get().options["min_agreement"] == 0.8

    page.get_by_label("Dataset").select_option("sft")
    assert page.get_by_label("Minimum labeler agreement (%)").count() == 0
    page.get_by_label("Format").select_option("jsonl")
    page.get_by_role("button", name="Start export").click()
    page.get_by_role("cell", name="helpful · sft · jsonl").wait_for()

    # No Celery worker in this test: run the queued job the way the worker would.
    job = ExportJob.objects.get(kind="sft")
    export_services.export_job_run(job_id=job.id)

    link = page.get_by_role("link", name="Download sft.jsonl")
    link.wait_for(timeout=15_000)
    screenshot(page, "engineer-exports")
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    assert len(rows) == 1
    assert "Hello, and welcome!" in json.dumps(rows[0])
    assert page.js_errors == []


def test_engineer_sees_checkpoint_lineage_metrics_and_card(page):
    proj = data.project()
    snapshot = DataSnapshot.objects.create(project=proj, counts={"demonstrations": 12, "rankings": 30})
    base = Checkpoint.objects.create(project=proj, stage="base", path="checkpoints/base")
    sft = Checkpoint.objects.create(
        project=proj, stage="sft", path="checkpoints/sft-1", parent=base, snapshot=snapshot, metrics={"eval_loss": 1.234}
    )
    data.user_with_roles("eng", "ml_engineer")
    login(page, "eng", data.PASSWORD)

    page.get_by_role("link", name="Checkpoints").click()
    page.get_by_role("cell", name="eval_loss 1.234").wait_for()
    screenshot(page, "engineer-checkpoints")
    page.get_by_role("link", name="Details").first.click()
    page.get_by_role("heading", name="sft checkpoint", exact=True).wait_for()
    facts = page.locator("dl.facts").inner_text()
    assert str(base.id) in facts and "demonstrations 12" in facts
    page.get_by_role("heading", name="Model card: SFT checkpoint").wait_for()
    # The card's Markdown tables render as tables, not as rows of pipes.
    assert page.get_by_role("row", name="demonstrations 12").is_visible()
    assert "|---|" not in page.locator(".markdown").first.inner_text()
    page.get_by_text("Same data with curl").click()
    assert f"/api/checkpoints/{sft.id}/download/" in page.locator(".api-calls pre").inner_text()
    screenshot(page, "engineer-checkpoint-detail")
    assert page.js_errors == []
