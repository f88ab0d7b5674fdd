from rest_framework import serializers

from exports.models import ExportFormat, ExportJob, ExportKind
from exports.options import STYLES, TIE_POLICIES


class ExportCreateInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportKind.choices)
    format = serializers.ChoiceField(choices=ExportFormat.choices, default=ExportFormat.JSONL)
    pseudonymize = serializers.BooleanField(default=True)
    style = serializers.ChoiceField(choices=sorted({s for v in STYLES.values() for s in v}), required=False)
    tie_policy = serializers.ChoiceField(choices=TIE_POLICIES, required=False)
    split = serializers.ChoiceField(choices=["train", "eval"], required=False)
    labeler = serializers.CharField(max_length=150, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    round = serializers.IntegerField(min_value=0, required=False)
    snapshot = serializers.UUIDField(required=False)
    min_agreement = serializers.FloatField(
        min_value=0, max_value=1, required=False,
        help_text="Preference and rankings exports: only rankings whose agreement with the task's other labelers is at least this share.",
    )


class ExportJobOutput(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id", "project", "created_by", "kind", "format", "options", "pseudonymize", "snapshot", "id_cutoff",
            "status", "rows_done", "rows_total", "rows_written", "sha256", "size_bytes", "source_digest", "error",
            "created_at", "started_at", "finished_at", "download_url",
        ]  # fmt: skip

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.SUCCEEDED:
            return None
        return f"/api/exports/{job.id}/download/"


class PreferenceImportInput(serializers.Serializer):
    file = serializers.FileField()


class PreferenceImportOutput(serializers.Serializer):
    prompts_created = serializers.IntegerField()
    prompts_reused = serializers.IntegerField()
    demonstrations = serializers.IntegerField()
    samples = serializers.IntegerField()
    rankings = serializers.IntegerField()
