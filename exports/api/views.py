"""Thin views: validate, call one service, serialize."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError, NotFound
from exports import checkpoints, selectors, services
from exports.api.permissions import CanExport, CanImport
from exports.api.serializers import ExportCreateInput, ExportJobOutput, PreferenceImportInput, PreferenceImportOutput
from labeling.models import Project
from labeling.services.preference_import import KINDS, preference_import
from training.selectors import checkpoint_get


def _project(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise NotFound("No such project.")
    return project


def _client_ip(request) -> str | None:
    # REMOTE_ADDR only: a forwarded-for header is client-controlled unless a trusted proxy
    # rewrites it, and deployments set that up in the proxy, not here.
    return request.META.get("REMOTE_ADDR") or None


class ProjectExportCreateView(APIView):
    permission_classes = [CanExport]

    @extend_schema(request=ExportCreateInput, responses={202: ExportJobOutput})
    def post(self, request, slug: str):
        project = _project(slug)
        data = ExportCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(request.data)  # raw strings: the service parses and stores them normalised
        keys = ("style", "tie_policy", "split", "labeler", "created_after", "created_before", "round", "snapshot", "min_agreement")
        options = {k: values[k] for k in keys if k in values}
        for number in ("round", "min_agreement"):
            if number in options:
                options[number] = data.validated_data[number]
        job = services.export_job_create(
            user=request.user,
            project=project,
            kind=data.validated_data["kind"],
            fmt=data.validated_data["format"],
            options=options,
            pseudonymize=data.validated_data["pseudonymize"],
        )
        return Response(ExportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ExportListView(ListAPIView):
    permission_classes = [CanExport]
    serializer_class = ExportJobOutput

    def get_queryset(self):
        return selectors.export_job_list(user=self.request.user)


class ExportDetailView(APIView):
    permission_classes = [CanExport]

    @extend_schema(responses=ExportJobOutput)
    def get(self, request, job_id):
        return Response(ExportJobOutput(selectors.export_job_get(user=request.user, job_id=job_id)).data)


class ExportRepeatView(APIView):
    permission_classes = [CanExport]

    @extend_schema(request=None, responses={202: ExportJobOutput})
    def post(self, request, job_id):
        job = selectors.export_job_get(user=request.user, job_id=job_id)
        return Response(ExportJobOutput(services.export_job_repeat(user=request.user, job=job)).data, status=status.HTTP_202_ACCEPTED)


class ExportDownloadView(APIView):
    permission_classes = [CanExport]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The export file.")})
    def get(self, request, job_id):
        job = selectors.export_job_get(user=request.user, job_id=job_id)
        path = services.export_job_file(job=job)
        services.download_log_record(user=request.user, export_job=job, ip=_client_ip(request))
        name = f"{job.project.slug}-{job.kind}-{str(job.id)[:8]}.{services.EXTENSIONS[job.format]}"
        response = FileResponse(open(path, "rb"), as_attachment=True, filename=name, content_type="application/octet-stream")
        response["X-Content-SHA256"] = job.sha256
        return response


class CheckpointArchiveView(APIView):
    permission_classes = [CanExport]

    @extend_schema(responses={(200, "application/gzip"): OpenApiResponse(description="tar.gz of the checkpoint folder")})
    def get(self, request, checkpoint_id):
        checkpoint = checkpoint_get(checkpoint_id=checkpoint_id)
        folder = checkpoints.checkpoint_folder(checkpoint)
        gzip = request.query_params.get("compress", "gzip") != "none"
        services.download_log_record(user=request.user, checkpoint_id=checkpoint.id, ip=_client_ip(request))
        top = f"{checkpoint.stage}-{checkpoint.id}"
        response = StreamingHttpResponse(
            checkpoints.archive_chunks(folder, top=top, gzip=gzip),
            content_type="application/gzip" if gzip else "application/x-tar",
        )
        response["Content-Disposition"] = f'attachment; filename="{top}.tar{".gz" if gzip else ""}"'
        return response


class CheckpointCardView(APIView):
    permission_classes = [CanExport]

    @extend_schema(responses={(200, "text/markdown"): OpenApiResponse(description="Model card in Markdown")})
    def get(self, request, checkpoint_id):
        checkpoint = checkpoint_get(checkpoint_id=checkpoint_id)
        # Markdown as plain text with nosniff: a browser never renders model-written text as HTML.
        response = HttpResponse(checkpoints.model_card(checkpoint), content_type="text/markdown; charset=utf-8")
        response["X-Content-Type-Options"] = "nosniff"
        return response


class PreferenceImportView(APIView):
    permission_classes = [CanImport]
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": PreferenceImportInput}, responses={201: PreferenceImportOutput})
    def post(self, request, slug: str, kind: str):
        project = _project(slug)
        if kind not in KINDS:
            raise NotFound(f"Import one of: {', '.join(KINDS)}.")
        data = PreferenceImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        limit = settings.LABELING["MAX_IMPORT_BYTES"]
        if upload.size > limit:
            raise ApplicationError(
                f"The file is larger than {limit} bytes.",
                code="import_invalid",
                details={"errors": [{"line": 0, "field": "file", "message": "File too large."}]},
            )
        summary = preference_import(project=project, kind=kind, data=upload.read(), user=request.user)
        return Response(PreferenceImportOutput(summary.as_dict()).data, status=status.HTTP_201_CREATED)
