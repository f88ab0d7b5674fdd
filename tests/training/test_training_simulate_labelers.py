"""simulate_labelers over a real HTTP server: dropped connections are retried, and a round
whose scheduling POST lost its answer is found, never scheduled twice."""

from __future__ import annotations

from unittest import mock

import pytest
import requests

from training.management.commands.simulate_labelers import Api, Unreachable, round_schedule_once
from training.models import TrainingRound

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-test-123456"  # make_user's


@pytest.fixture
def no_enqueue():
    with mock.patch("training.tasks.round_start.delay"):
        yield


@pytest.fixture
def admin_api(live_server, admin_user):
    """An admin's Api on the live server; its connections are closed at the end, so the server's
    threads (each holding a database connection) end before the test database is dropped."""
    made = []

    def make(warnings: list[str]) -> Api:
        made.append(Api(live_server.url, admin_user.username, PASSWORD, warn=warnings.append, pause=0))
        return made[-1]

    yield make
    for api in made:
        api.session.close()


def fail_once(api: Api, *, method: str, path_end: str, after_sending: bool) -> list:
    """Make the next matching request fail with a connection reset, before it reaches the server
    or after the server has answered (the answer is lost). Returns the list of failures."""
    real = api.session.request
    failures = []

    def request(method_, url, **kwargs):
        matches = method_ == method and url.endswith(path_end) and not failures
        if matches and not after_sending:
            failures.append(url)
            raise requests.ConnectionError("('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))")
        response = real(method_, url, **kwargs)
        if matches:
            failures.append(url)
            raise requests.ConnectionError("('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))")
        return response

    api.session.request = request
    return failures


def test_a_lost_answer_finds_the_round_it_created(admin_api, project, no_enqueue):
    warnings: list[str] = []
    api = admin_api(warnings)
    failures = fail_once(api, method="POST", path_end=f"/projects/{project.slug}/rounds/", after_sending=True)
    round_ = round_schedule_once(api, project.slug, warn=warnings.append)
    assert failures, "the answer was lost"
    assert TrainingRound.objects.filter(project=project).count() == 1, "not scheduled twice"
    assert round_["number"] == 1 and round_["id"] == TrainingRound.objects.get(project=project).id
    assert "it had created round 1, using it" in warnings[-1]


def test_a_post_that_never_arrived_is_sent_again(admin_api, project, no_enqueue):
    warnings: list[str] = []
    api = admin_api(warnings)
    fail_once(api, method="POST", path_end=f"/projects/{project.slug}/rounds/", after_sending=False)
    round_ = round_schedule_once(api, project.slug, warn=warnings.append)
    assert TrainingRound.objects.filter(project=project).count() == 1
    assert round_["number"] == 1
    assert "created no round; sending it again" in warnings[-1]


def test_reads_are_retried_with_a_message(admin_api, project):
    warnings: list[str] = []
    api = admin_api(warnings)
    fail_once(api, method="GET", path_end=f"/projects/{project.slug}/rounds/", after_sending=True)
    assert api.get(f"/api/projects/{project.slug}/rounds/") == []
    assert warnings == [f"GET /api/projects/{project.slug}/rounds/: ConnectionError: "
                        "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer')); "
                        "retrying in 0s (try 2 of 6)"]


def test_no_server_is_a_clear_error():
    warnings: list[str] = []
    with pytest.raises(Unreachable, match=r"got no answer after 3 tries .*is the server running at http://127.0.0.1:9\?"):
        Api("http://127.0.0.1:9", "nobody", "pw", warn=warnings.append, attempts=3, pause=0)
    assert len(warnings) == 2


@pytest.mark.parametrize("args", [["--k", "1"], ["--k", "10"], ["--labelers", "0"], ["--round-timeout", "0"]])
def test_bad_arguments_are_refused_with_a_message(args):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--"):
        call_command("simulate_labelers", "--base-url", "http://127.0.0.1:9", "--project", "nowhere", *args)
