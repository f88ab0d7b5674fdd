"""Serializers of the training API; each name is unique across the API (OpenAPI components)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from training.models import Checkpoint, DataSnapshot, RoundSchedule, TrainingJob, TrainingRound


@extend_schema_field({"type": "object", "additionalProperties": True})
class RoundConfigField(serializers.JSONField):
    """A round config: a JSON object (each key is then checked by round_config_validate)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object, e.g. {\"ppo\": {\"beta\": 2.0}}.")
        return value


class RoundScheduleInput(serializers.Serializer):
    config = RoundConfigField(required=False, default=dict, help_text="Round config; missing keys take the demo defaults.")
    start_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class RoundScheduleSettingsInput(serializers.Serializer):
    every_hours = serializers.IntegerField(min_value=1, max_value=24 * 365, allow_null=True)
    rankings_threshold = serializers.IntegerField(min_value=1, max_value=10_000_000, allow_null=True)
    config = RoundConfigField(required=False, default=dict)


class RoundScheduleSettingsOutput(serializers.ModelSerializer):
    # None until the project's schedule is first saved.
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = RoundSchedule
        fields = ["every_hours", "rankings_threshold", "config", "updated_at"]


class TrainingJobOutput(serializers.ModelSerializer):
    checkpoint_id = serializers.SerializerMethodField()

    class Meta:
        model = TrainingJob
        fields = [
            "id", "stage", "order", "status", "step", "total_steps", "metrics", "log_tail", "attempts", "worker",
            "heartbeat_at", "cancel_requested", "message", "started_at", "finished_at", "checkpoint_id",
        ]

    def get_checkpoint_id(self, job) -> str | None:
        checkpoint = getattr(job, "checkpoint", None)
        return str(checkpoint.id) if checkpoint else None


class TrainingJobSummaryOutput(serializers.ModelSerializer):
    class Meta:
        model = TrainingJob
        fields = ["id", "stage", "order", "status", "step", "total_steps", "attempts", "message"]


class DataSnapshotOutput(serializers.ModelSerializer):
    class Meta:
        model = DataSnapshot
        fields = ["id", "counts", "created_at"]


class TrainingRoundListOutput(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    jobs = TrainingJobSummaryOutput(many=True, read_only=True)

    class Meta:
        model = TrainingRound
        fields = [
            "id", "project", "number", "status", "trigger", "start_at", "message", "created_at", "started_at",
            "finished_at", "jobs",
        ]


class TrainingRoundDetailOutput(TrainingRoundListOutput):
    jobs = TrainingJobOutput(many=True, read_only=True)
    snapshot = DataSnapshotOutput(read_only=True, allow_null=True)
    scheduled_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta(TrainingRoundListOutput.Meta):
        fields = TrainingRoundListOutput.Meta.fields + ["config", "snapshot", "scheduled_by"]


class RoundMetricsOutput(serializers.Serializer):
    round = serializers.IntegerField()
    round_id = serializers.IntegerField()
    status = serializers.CharField()
    sft_eval_loss = serializers.FloatField(allow_null=True)
    rm_accuracy = serializers.FloatField(allow_null=True)
    ppo_reward = serializers.FloatField(allow_null=True)
    ppo_kl = serializers.FloatField(allow_null=True)
    dpo_accuracy = serializers.FloatField(allow_null=True)
    win_rate_vs_sft = serializers.FloatField(allow_null=True, help_text="Judged by the round's reward model.")


class CheckpointListOutput(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    round_number = serializers.IntegerField(source="round.number", allow_null=True, read_only=True)

    class Meta:
        model = Checkpoint
        fields = ["id", "project", "stage", "path", "parent_id", "snapshot_id", "job_id", "round_id", "round_number",
                  "metrics", "created_at"]


class CheckpointLineageItemOutput(serializers.ModelSerializer):
    round_number = serializers.IntegerField(source="round.number", allow_null=True, read_only=True)

    class Meta:
        model = Checkpoint
        fields = ["id", "stage", "path", "round_number", "snapshot_id", "created_at"]


class CheckpointDetailOutput(CheckpointListOutput):
    snapshot = DataSnapshotOutput(read_only=True, allow_null=True)
    lineage = serializers.SerializerMethodField()

    class Meta(CheckpointListOutput.Meta):
        fields = CheckpointListOutput.Meta.fields + ["config", "snapshot", "lineage", "eval_samples"]

    def get_lineage(self, checkpoint) -> list[dict]:
        return CheckpointLineageItemOutput(self.context.get("lineage", []), many=True).data
