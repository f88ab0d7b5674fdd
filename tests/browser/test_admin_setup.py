"""An admin sets up a project in the browser: creates it, imports prompts (a broken file gets a
per-line report and imports nothing), and gives a user a role."""

import pytest
from django.contrib.auth import get_user_model

from labeling.models import Project, Prompt
from labeling.roles import user_roles

from . import data
from .conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_project_imports_prompts_and_grants_a_role(page, tmp_path):
    data.user_with_roles("ada", "admin")
    data.user_with_roles("newbie")
    login(page, "ada", data.PASSWORD)

    page.get_by_role("link", name="Projects").click()
    form = page.get_by_role("form", name="New project")
    form.get_by_label("Name").fill("Poems")
    form.get_by_label("Slug (used in addresses)").fill("poems")
    form.get_by_label("Samples per ranking (K)").fill("4")
    form.get_by_label("Labelers per task (overlap)").fill("2")
    form.get_by_label("Guidelines (Markdown)").fill("Prefer **short** poems.")
    form.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="Poems").wait_for()
    project = Project.objects.get(slug="poems")
    assert (project.k, project.overlap, project.guidelines) == (4, 2, "Prefer **short** poems.")

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "Write a limerick."}\nnot json\n{"category": "generation"}\n', encoding="utf-8")
    page.get_by_label("Prompt file").set_input_files(str(bad))
    page.get_by_role("button", name="Import").click()
    report = page.get_by_role("table", name="Import errors")
    report.wait_for()
    assert report.locator("tbody tr").count() == 2
    assert report.locator("tbody tr").first.locator("td").first.inner_text() == "2"
    assert Prompt.objects.filter(project=project).count() == 0
    screenshot(page, "admin-project-import-errors")

    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "Write a limerick."}\n{"text": "Write a haiku."}\n', encoding="utf-8")
    page.get_by_label("Prompt file").set_input_files(str(good))
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported 2 prompts.").wait_for()
    page.get_by_role("cell", name="Write a haiku.").wait_for()
    assert Prompt.objects.filter(project=project).count() == 2

    page.get_by_role("link", name="Users").click()
    page.get_by_label("Labeler role for newbie").check()
    page.wait_for_function(
        "() => document.querySelector('[aria-label=\"Labeler role for newbie\"]').checked && !document.querySelector('[aria-label=\"Labeler role for newbie\"]').disabled"
    )
    screenshot(page, "admin-users")
    newbie = get_user_model().objects.get(username="newbie")
    assert "labeler" in user_roles(newbie)
    assert page.js_errors == []
