"""Export jobs through the API: roles, enqueue on commit, the job run with progress, listing,
download (logged) and repeat (same bytes)."""

from __future__ import annotations

from unittest import mock

import pytest

from exports import services
from exports.models import DownloadLog, ExportJob
from rest_framework.test import APIClient


def client_for(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def create(user, project, **body):
    with mock.patch("exports.tasks.export_job_run.delay") as delay:
        response = client_for(user).post(f"/api/projects/{project.slug}/exports/", {"kind": "preference", "format": "jsonl", **body}, format="json")
    return response, delay


@pytest.mark.django_db(transaction=True)
def test_engineer_creates_job_enqueued_after_commit(filled, project, engineer, data_dir):
    response, delay = create(engineer, project)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["download_url"] is None and body["id_cutoff"] == filled["rankings"][-1].id
    delay.assert_called_once_with(body["id"])


def test_enqueue_waits_for_commit(filled, project, engineer, data_dir, django_capture_on_commit_callbacks):
    with mock.patch("exports.tasks.export_job_run.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            job = services.export_job_create(user=engineer, project=project, kind="sft", fmt="jsonl", options={})
        delay.assert_not_called()
        assert len(callbacks) == 1
        callbacks[0]()
        delay.assert_called_once_with(str(job.id))


@pytest.mark.parametrize("role", ["labeler", "anonymous"])
def test_labelers_and_anonymous_cannot_export(filled, project, labeler, engineer, role, data_dir):
    user = labeler if role == "labeler" else None
    response, delay = create(user, project)
    assert response.status_code in ((403,) if role == "labeler" else (401, 403))
    assert not delay.called and not ExportJob.objects.exists()
    for url in ("/api/exports/", f"/api/checkpoints/{filled['rankings'][0].task.id:08d}-0000-4000-8000-000000000000/card/"):
        assert client_for(user).get(url).status_code in (401, 403)


def test_invalid_body_names_the_field(filled, project, engineer, data_dir):
    response, _ = create(engineer, project, kind="rankings", format="csv")
    assert response.status_code == 400 and response.json()["error"]["details"] == {"field": "format"}
    response, _ = create(engineer, project, tie_policy="coin")
    assert response.status_code == 400 and "tie_policy" in response.json()["error"]["fields"]
    response, _ = create(engineer, project, snapshot="00000000-0000-4000-8000-00000000beef")
    assert response.status_code == 400 and response.json()["error"]["details"] == {"field": "snapshot"}
    response, _ = create(engineer, project, kind="preference", min_agreement=2)
    assert response.status_code == 400 and "min_agreement" in response.json()["error"]["fields"]
    response, _ = create(engineer, project, kind="sft", min_agreement=0.5)
    assert response.status_code == 400 and response.json()["error"]["details"] == {"field": "min_agreement"}
    response = client_for(engineer).post("/api/projects/nope/exports/", {"kind": "sft"}, format="json")
    assert response.status_code == 404


def test_min_agreement_is_stored_on_the_job(filled, project, engineer, data_dir):
    response, _ = create(engineer, project, kind="preference", min_agreement=0.75)
    assert response.status_code == 202, response.content
    assert response.json()["options"]["min_agreement"] == 0.75


def test_job_runs_with_progress_then_downloads_and_logs(filled, project, engineer, admin_user, data_dir, monkeypatch):
    from exports import rows

    monkeypatch.setattr(rows, "CHUNK", 1)  # one ranking per chunk: several progress updates
    response, _ = create(engineer, project)
    job_id = response.json()["id"]
    seen = []
    real = rows.BATCHES["preference"]

    def observed(*args, **kwargs):
        # Between chunks, read the job row as a client polling the API would.
        for batch in real(*args, **kwargs):
            seen.append(ExportJob.objects.values_list("rows_done", "rows_total").get(id=job_id))
            yield batch

    monkeypatch.setitem(rows.BATCHES, "preference", observed)
    monkeypatch.setattr(services.time, "monotonic", iter(range(0, 1000, 10)).__next__)
    job = services.export_job_run(job_id=job_id)
    assert job.status == "succeeded" and job.rows_done == job.rows_total == 2 and job.rows_written == 8
    assert seen == [(0, 0), (1, 2)]  # progress was stored half-way
    path = data_dir / job.file_path
    assert path.is_file() and path.stat().st_size == job.size_bytes
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    # A second delivery of the same message does nothing.
    assert services.export_job_run(job_id=job_id) is None

    detail = client_for(engineer).get(f"/api/exports/{job_id}/").json()
    assert detail["status"] == "succeeded" and detail["download_url"] == f"/api/exports/{job_id}/download/"
    response = client_for(engineer).get(detail["download_url"], REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == path.read_bytes()
    assert response["X-Content-SHA256"] == job.sha256
    log = DownloadLog.objects.get()
    assert (log.user, log.what, log.export_job_id, str(log.ip)) == (engineer, "export", job.id, "10.1.2.3")


def test_jobs_visible_to_owner_and_admins_only(filled, project, engineer, admin_user, data_dir):
    other = type(engineer).objects.create_user("other-engineer")
    other.groups.set(engineer.groups.all())
    job_id = create(engineer, project)[0].json()["id"]
    assert [j["id"] for j in client_for(engineer).get("/api/exports/").json()["results"]] == [job_id]
    assert client_for(other).get("/api/exports/").json()["results"] == []
    assert client_for(other).get(f"/api/exports/{job_id}/").status_code == 404
    assert client_for(other).get(f"/api/exports/{job_id}/download/").status_code == 404
    assert [j["id"] for j in client_for(admin_user).get("/api/exports/").json()["results"]] == [job_id]
    # Not finished yet: the download says so instead of failing.
    response = client_for(engineer).get(f"/api/exports/{job_id}/download/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_ready"
    assert not DownloadLog.objects.exists()


def test_repeat_gives_the_same_bytes(filled, project, engineer, data_dir, make_ranking):
    job_id = create(engineer, project, kind="rankings", format="parquet")[0].json()["id"]
    first = services.export_job_run(job_id=job_id)
    make_ranking(project, filled["prompts"][0], None, ["late", "later"], [1, 2])  # after the cutoff
    with mock.patch("exports.tasks.export_job_run.delay"):
        response = client_for(engineer).post(f"/api/exports/{job_id}/repeat/")
    assert response.status_code == 202
    second = services.export_job_run(job_id=response.json()["id"])
    assert second.sha256 == first.sha256 and second.source_digest == first.source_digest
    assert (data_dir / second.file_path).read_bytes() == (data_dir / first.file_path).read_bytes()


def test_failed_job_reports_error_and_leaves_no_file(filled, project, engineer, data_dir, monkeypatch):
    from exports import rows

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
        yield

    monkeypatch.setitem(rows.BATCHES, "preference", broken)
    job = services.export_job_run(job_id=create(engineer, project)[0].json()["id"])
    assert job.status == "failed" and "disk full" in job.error and job.file_path == ""
    assert not any((data_dir / "exports").iterdir())


@pytest.mark.django_db(transaction=True)
def test_job_outside_a_transaction_reads_ahead_on_its_own_connection(filled, project, engineer, data_dir, monkeypatch):
    from exports import rows

    monkeypatch.setattr(rows, "CHUNK", 1)
    threads = []
    real = rows.BATCHES["preference"]

    def observed(*args, **kwargs):
        import threading

        threads.append(threading.current_thread().name)
        yield from real(*args, **kwargs)

    monkeypatch.setitem(rows.BATCHES, "preference", observed)
    job = services.export_job_run(job_id=create(engineer, project)[0].json()["id"])
    assert threads == ["export-read-ahead"]
    assert job.status == "succeeded" and job.rows_written == 8
    inline = data_dir / "inline.jsonl"
    from django.db import transaction

    with transaction.atomic():  # the in-line path writes the same bytes
        from exports.options import ExportOptions

        services.export_file_write(
            project=project, kind="preference", fmt="jsonl", options=ExportOptions.from_json(job.options), salt=job.salt,
            pseudonymize=True, id_cutoff=job.id_cutoff, out_path=inline,
        )  # fmt: skip
    assert inline.read_bytes() == (data_dir / job.file_path).read_bytes()


def test_read_ahead_hands_over_errors_and_stops():
    from exports.rows import read_ahead

    def failing():
        yield 1
        raise ValueError("boom")

    stream = read_ahead(failing)
    assert next(stream) == 1
    with pytest.raises(ValueError, match="boom"):
        next(stream)
    produced = []

    def endless():
        for i in range(10_000):
            produced.append(i)
            yield i

    stream = read_ahead(endless, depth=1)
    assert next(stream) == 0
    stream.close()  # the consumer gives up: the producer stops instead of running on
    assert len(produced) < 10
