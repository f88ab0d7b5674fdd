"""A labeler in a real browser: demonstration with a reload mid-draft, ranking by keyboard only,
and hostile prompt/sample text that must show as text and never run."""

import pytest

from labeling.models import Assignment, Demonstration, Ranking

from . import data
from .conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=1">'


def test_demonstration_draft_survives_reload_and_submits(page):
    proj = data.project()
    data.demonstration_task(proj)
    data.user_with_roles("lena", "labeler")

    login(page, "lena", data.PASSWORD)
    page.get_by_text("1 demonstration").wait_for()
    screenshot(page, "labeler-home")
    page.get_by_role("link", name="Write demonstrations").click()
    page.get_by_text("Explain photosynthesis to a ten-year-old.").wait_for()

    editor = page.get_by_label("Your answer (Markdown)")
    draft = "Plants catch **sunlight** with their leaves.\n\n- water\n- air"
    editor.fill(draft)
    page.get_by_text("Draft saved at").wait_for()
    assert Assignment.objects.get().draft == draft

    page.reload()
    editor = page.get_by_label("Your answer (Markdown)")
    editor.wait_for()
    assert editor.input_value() == draft

    page.get_by_role("tab", name="Preview").click()
    assert page.locator(".preview strong").inner_text() == "sunlight"
    screenshot(page, "demonstration-editor")
    page.get_by_role("tab", name="Write").click()
    page.get_by_label("Your answer (Markdown)").fill(draft + "\n\nThat is how they make sugar.")
    page.get_by_role("button", name="Submit demonstration").click()
    page.get_by_role("heading", name="Nothing to do").wait_for()

    demo = Demonstration.objects.get()
    assert demo.text.endswith("That is how they make sugar.")
    assert demo.labeler.username == "lena"
    assert page.js_errors == []


def test_ranking_by_keyboard_only_with_a_tie(page):
    proj = data.project()
    data.ranking_task(proj, "Write a haiku about autumn.", [f"Haiku number {i}" for i in range(4)])
    data.user_with_roles("rui", "labeler")
    login(page, "rui", data.PASSWORD)

    page.goto("/label/helpful/ranking")
    page.get_by_role("heading", name="Rank the answers").wait_for()
    assert int(page.evaluate("document.body.dataset.taskRenderMs")) < 200
    screenshot(page, "ranking-view")

    # Rank A 1st, B and C tied 2nd, D 3rd, using only the keyboard: focus, number keys, Shift+Enter.
    placements = {"A": "1", "B": "2", "C": "2", "D": "3"}
    scores = {"A": "7", "B": "5", "C": "5", "D": "2"}
    page.get_by_test_id("sample-A").focus()
    for label in "ABCD":
        card = page.get_by_test_id(f"sample-{label}")
        assert card.evaluate("el => el === document.activeElement")
        page.keyboard.press(placements[label])
        page.keyboard.press("ArrowRight")
    assert page.get_by_test_id("order-summary").inner_text() == "Order: A > B = C > D"
    for label in "ABCD":
        page.get_by_label(f"Score for {label} (1–7)").focus()
        page.keyboard.press(scores[label])
    page.get_by_label("Hallucination (makes things up)").nth(3).focus()
    page.keyboard.press("Space")
    screenshot(page, "ranking-filled")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "ranking-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.keyboard.press("Shift+Enter")
    page.get_by_role("heading", name="Nothing to do").wait_for()

    ranking = Ranking.objects.get()
    shown = Assignment.objects.get(pk=ranking.assignment_id).shown_order
    assert ranking.order == [[shown[0]], [shown[1], shown[2]], [shown[3]]]
    entries = {e.sample_id: e for e in ranking.entries.all()}
    assert [entries[s].score for s in shown] == [7, 5, 5, 2]
    assert entries[shown[3]].flags == ["hallucination"]
    assert page.js_errors == []


def test_ranking_refuses_incomplete_submit_with_a_message(page):
    proj = data.project()
    data.ranking_task(proj, "Name a colour.", ["Red", "Blue", "Green", "Plaid"])
    data.user_with_roles("ines", "labeler")
    login(page, "ines", data.PASSWORD)
    page.goto("/label/helpful/ranking")
    page.get_by_test_id("sample-A").focus()
    page.keyboard.press("1")
    page.keyboard.press("Shift+Enter")
    page.get_by_text("Give B a rank.").wait_for()
    assert Ranking.objects.count() == 0


def test_hostile_prompt_and_sample_text_shows_as_text_and_never_runs(page):
    proj = data.project(guidelines=f"Guidelines {XSS_SCRIPT} {XSS_IMG}")
    data.ranking_task(
        proj,
        f"Prompt {XSS_SCRIPT} and {XSS_IMG}",
        [f"Sample {XSS_SCRIPT}", f"Sample {XSS_IMG}", "[click](javascript:window.__xss=1)", "plain"],
    )
    data.user_with_roles("mallory", "labeler")
    login(page, "mallory", data.PASSWORD)
    page.goto("/label/helpful/ranking")
    page.get_by_role("heading", name="Rank the answers").wait_for()
    page.get_by_text("Guidelines", exact=True).click()
    page.wait_for_timeout(300)

    prompt = page.get_by_test_id("prompt-text").inner_text()
    assert XSS_SCRIPT in prompt and XSS_IMG in prompt
    body = page.locator("main").inner_text()
    assert f"Sample {XSS_SCRIPT}" in body
    assert f"Sample {XSS_IMG}" in body
    assert f"Guidelines {XSS_SCRIPT} {XSS_IMG}" in body
    assert page.locator("main script, main img").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    screenshot(page, "xss-as-text")


def test_ranking_by_drag_and_drop(page):
    proj = data.project()
    data.ranking_task(proj, "Pick a fruit.", ["Apple", "Pear", "Plum", "Fig"])
    data.user_with_roles("dora", "labeler")
    login(page, "dora", data.PASSWORD)
    page.goto("/label/helpful/ranking")
    page.get_by_test_id("sample-C").drag_to(page.locator(".rung[data-rank='1']"))
    page.get_by_test_id("sample-A").drag_to(page.locator(".rung[data-rank='1']"))
    page.locator(".rung[data-rank='1'] .chip", has_text="A").drag_to(page.locator(".rung[data-rank='2']"))
    assert page.get_by_test_id("order-summary").inner_text() == "Order: C > A"


def test_expired_lease_and_skip_are_explained(page):
    proj = data.project()
    data.demonstration_task(proj, "First prompt.")
    data.demonstration_task(proj, "Second prompt.")
    data.user_with_roles("sam", "labeler")
    login(page, "sam", data.PASSWORD)

    page.goto("/label/helpful/demonstration")
    page.get_by_label("Your answer (Markdown)").fill("An answer that will arrive too late.")
    Assignment.objects.filter(status=Assignment.Status.ACTIVE).update(status=Assignment.Status.EXPIRED)
    page.get_by_role("button", name="Submit demonstration").click()
    page.get_by_role("heading", name="Task unavailable").wait_for()
    assert "Your lease on this task expired" in page.get_by_role("alert").inner_text()
    screenshot(page, "labeler-lease-expired")
    assert Demonstration.objects.count() == 0

    page.get_by_role("button", name="Load the next task").click()
    page.get_by_label("Your answer (Markdown)").wait_for()
    skipped_prompt = page.get_by_test_id("prompt-text").inner_text()
    page.get_by_role("button", name="Skip…").click()
    page.get_by_label("Why skip?").fill("Outside my expertise")
    page.get_by_role("button", name="Skip task").click()
    # The next task (the other prompt) replaces the skipped one.
    page.get_by_test_id("prompt-text").filter(has_not_text=skipped_prompt).wait_for()
    assert Assignment.objects.filter(status=Assignment.Status.SKIPPED, skip_reason="Outside my expertise").count() == 1
