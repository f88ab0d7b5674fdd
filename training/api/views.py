"""Training API: one view per operation, validating with a named serializer and calling one
service or selector. Admins write; admins and ML engineers read; labelers get 403."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError
from training import selectors
from training.api.permissions import TrainingReadOrAdminWrite
from training.api.serializers import (
    CheckpointDetailOutput,
    CheckpointListOutput,
    RoundMetricsOutput,
    RoundScheduleInput,
    RoundScheduleSettingsInput,
    RoundScheduleSettingsOutput,
    TrainingJobOutput,
    TrainingRoundDetailOutput,
    TrainingRoundListOutput,
)
from training.services import jobs as job_services
from training.services import rounds as round_services


class TrainingView(APIView):
    permission_classes = [TrainingReadOrAdminWrite]


class ProjectRoundsView(TrainingView):
    @extend_schema(operation_id="project_rounds_list", responses=TrainingRoundListOutput(many=True))
    def get(self, request, slug: str):
        project = selectors.project_get(slug=slug)
        return Response(TrainingRoundListOutput(selectors.round_list(project=project)[:200], many=True).data)

    @extend_schema(operation_id="project_rounds_schedule", request=RoundScheduleInput, responses={201: TrainingRoundDetailOutput})
    def post(self, request, slug: str):
        project = selectors.project_get(slug=slug)
        data = RoundScheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        round_ = round_services.round_schedule(
            project=project, scheduled_by=request.user, config=data.validated_data["config"],
            start_at=data.validated_data["start_at"],
        )
        return Response(TrainingRoundDetailOutput(selectors.round_get(round_id=round_.id)).data, status=status.HTTP_201_CREATED)


class RoundDetailView(TrainingView):
    @extend_schema(operation_id="rounds_retrieve", responses=TrainingRoundDetailOutput)
    def get(self, request, round_id: int):
        return Response(TrainingRoundDetailOutput(selectors.round_get(round_id=round_id)).data)


class RoundCancelView(TrainingView):
    @extend_schema(operation_id="rounds_cancel", request=None, responses=TrainingRoundDetailOutput)
    def post(self, request, round_id: int):
        round_services.round_cancel(round_id=round_id)
        return Response(TrainingRoundDetailOutput(selectors.round_get(round_id=round_id)).data)


class JobRetryView(TrainingView):
    @extend_schema(operation_id="jobs_retry", request=None, responses=TrainingJobOutput)
    def post(self, request, job_id):
        job = job_services.job_retry(job_id=job_id)
        return Response(TrainingJobOutput(job).data)


class RoundScheduleSettingsView(TrainingView):
    @extend_schema(operation_id="project_round_schedule_retrieve", responses=RoundScheduleSettingsOutput)
    def get(self, request, slug: str):
        schedule = selectors.round_schedule_get(project=selectors.project_get(slug=slug))
        if schedule is None:
            return Response({"every_hours": None, "rankings_threshold": None, "config": {}, "updated_at": None})
        return Response(RoundScheduleSettingsOutput(schedule).data)

    @extend_schema(operation_id="project_round_schedule_update", request=RoundScheduleSettingsInput,
                   responses=RoundScheduleSettingsOutput)
    def put(self, request, slug: str):
        project = selectors.project_get(slug=slug)
        data = RoundScheduleSettingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = round_services.round_schedule_set(project=project, **data.validated_data)
        return Response(RoundScheduleSettingsOutput(schedule).data)


class RoundMetricsView(TrainingView):
    @extend_schema(operation_id="project_round_metrics", responses=RoundMetricsOutput(many=True))
    def get(self, request, slug: str):
        project = selectors.project_get(slug=slug)
        return Response(RoundMetricsOutput(selectors.round_metrics(project=project), many=True).data)


class CheckpointListView(TrainingView):
    @extend_schema(
        operation_id="checkpoints_list",
        parameters=[OpenApiParameter("project", str, required=True, description="Project slug.")],
        responses=CheckpointListOutput(many=True),
    )
    def get(self, request):
        slug = request.query_params.get("project")
        if not slug:
            raise ApplicationError("Pass ?project=<slug>.", details={"field": "project"})
        project = selectors.project_get(slug=slug)
        return Response(CheckpointListOutput(selectors.checkpoint_list(project=project)[:500], many=True).data)


class CheckpointDetailView(TrainingView):
    @extend_schema(operation_id="checkpoints_retrieve", responses=CheckpointDetailOutput)
    def get(self, request, checkpoint_id):
        checkpoint = selectors.checkpoint_get(checkpoint_id=checkpoint_id)
        lineage = selectors.checkpoint_lineage(checkpoint=checkpoint)
        return Response(CheckpointDetailOutput(checkpoint, context={"lineage": lineage}).data)
