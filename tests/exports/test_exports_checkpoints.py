"""Checkpoint archives by opaque id (streamed, logged, never outside DATA_DIR) and model cards."""

from __future__ import annotations

import io
import tarfile
import uuid

import pytest
from rest_framework.test import APIClient

from exports.checkpoints import archive_chunks
from exports.models import DownloadLog
from training.models import Checkpoint, DataSnapshot, TrainingRound


def client_for(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def lineage(project, data_dir):
    """base -> sft -> ppo, the sft and ppo trained in round 1 on a snapshot."""
    for name, files in {"base": {"config.json": b"{}"}, "r1/sft": {"config.json": b'{"a": 1}', "model.safetensors": b"\x00\x01" * 700}, "r1/ppo": {"model.safetensors": b"w" * 5000, "sub/tokenizer.json": b"{}"}}.items():
        for rel, content in files.items():
            path = data_dir / "checkpoints" / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    snapshot = DataSnapshot.objects.create(project=project, demonstration_ids=[1, 2], ranking_ids=[3, 4, 5], counts={"demonstrations": 2, "rankings": 3})
    round_ = TrainingRound.objects.create(project=project, number=1, status="succeeded", snapshot=snapshot, config={"ppo": {"steps": 2}})
    base = Checkpoint.objects.create(project=project, stage="base", path="checkpoints/base")
    sft = Checkpoint.objects.create(project=project, stage="sft", path="checkpoints/r1/sft", parent=base, snapshot=snapshot, round=round_, config={"lr": 1e-4}, metrics={"loss": 1.25})
    ppo = Checkpoint.objects.create(project=project, stage="ppo", path="checkpoints/r1/ppo", parent=sft, snapshot=snapshot, round=round_, metrics={"reward": 0.5, "kl": 0.01, "curve": [1, 2]})
    return {"base": base, "sft": sft, "ppo": ppo, "snapshot": snapshot}


def test_archive_streams_the_folder_and_logs(lineage, engineer, data_dir):
    ppo = lineage["ppo"]
    response = client_for(engineer).get(f"/api/checkpoints/{ppo.id}/download/", REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="ppo-{ppo.id}.tar.gz"'
    with tarfile.open(fileobj=io.BytesIO(b"".join(response.streaming_content)), mode="r:gz") as tar:
        names = sorted(tar.getnames())
        assert names == [f"ppo-{ppo.id}/model.safetensors", f"ppo-{ppo.id}/sub/tokenizer.json"]
        assert tar.extractfile(names[0]).read() == b"w" * 5000
    log = DownloadLog.objects.get()
    assert (log.user, log.what, log.checkpoint_id, log.export_job, log.ip) == (engineer, "checkpoint", ppo.id, None, "10.0.0.9")


def test_plain_tar_and_constant_size_chunks(lineage, data_dir, tmp_path):
    big = data_dir / "checkpoints" / "big"
    big.mkdir()
    (big / "weights.bin").write_bytes(b"x" * (3 * (1 << 20) + 17))
    chunks = list(archive_chunks(big, top="big", gzip=False))
    assert max(len(c) for c in chunks) <= 1 << 20  # streamed in read-buffer pieces, not built whole
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:") as tar:
        assert tar.extractfile("big/weights.bin").read() == b"x" * (3 * (1 << 20) + 17)


@pytest.mark.parametrize("stored", ["../outside", "/etc", "checkpoints/../../outside", "", "checkpoints/link"])
def test_paths_escaping_data_dir_are_never_served(project, engineer, data_dir, stored):
    outside = data_dir.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("secret")
    (data_dir / "checkpoints").mkdir(exist_ok=True)
    (data_dir / "checkpoints" / "link").symlink_to(outside)
    checkpoint = Checkpoint.objects.create(project=project, stage="sft", path=stored)
    response = client_for(engineer).get(f"/api/checkpoints/{checkpoint.id}/download/")
    assert response.status_code == 404
    assert not DownloadLog.objects.exists()


def test_symlinked_files_inside_a_checkpoint_are_left_out(lineage, engineer, data_dir):
    secret = data_dir.parent / "secret.txt"
    secret.write_text("secret")
    (data_dir / "checkpoints" / "r1" / "sft" / "leak.txt").symlink_to(secret)
    response = client_for(engineer).get(f"/api/checkpoints/{lineage['sft'].id}/download/?compress=none")
    body = b"".join(response.streaming_content)
    assert b"secret" not in body
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
        assert not any(n.endswith("leak.txt") for n in tar.getnames())


def test_only_ids_reach_the_endpoint(engineer, labeler, lineage):
    assert client_for(engineer).get("/api/checkpoints/..%2F..%2Fetc/download/").status_code == 404
    assert client_for(engineer).get(f"/api/checkpoints/{uuid.uuid4()}/download/").status_code == 404
    assert client_for(labeler).get(f"/api/checkpoints/{lineage['ppo'].id}/download/").status_code == 403
    assert client_for(None).get(f"/api/checkpoints/{lineage['ppo'].id}/download/").status_code in (401, 403)
    assert client_for(labeler).get(f"/api/checkpoints/{lineage['ppo'].id}/card/").status_code == 403


def test_model_card_has_counts_metrics_configs_and_lineage(lineage, admin_user):
    ppo, sft, base = lineage["ppo"], lineage["sft"], lineage["base"]
    response = client_for(admin_user).get(f"/api/checkpoints/{ppo.id}/card/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/markdown")
    card = response.content.decode()
    assert card.startswith(f"# Model card: PPO checkpoint `{ppo.id}`")
    assert "| rankings | 3 |" in card and "| demonstrations | 2 |" in card
    assert "| reward | 0.5 |" in card and '"curve"' in card
    assert card.index(str(ppo.id)) < card.index(f"2. sft `{sft.id}`") < card.index(f"3. base `{base.id}`")
    assert '"lr": 0.0001' in card and '"steps": 2' in card
    assert f"- Data snapshot: `{lineage['snapshot'].id}`" in card
