"""Thin views: check the role, validate the input, call one service or selector, serialize."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth import authenticate
from django.middleware.csrf import get_token
from django.views.decorators.csrf import ensure_csrf_cookie
from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError
from config.pagination import LimitOffsetPagination
from labeling import selectors, services
from labeling.api import serializers as s
from labeling.api.permissions import AnyRoleReadAdminWrite, EngineerReadAdminWrite, HasAnyRole, IsAdmin, IsLabeler
from labeling.roles import is_labeler

NO_MORE_TASKS = "No more tasks for you in this project right now. Check back later: new tasks arrive after each training round."


# A view whose GET answers one page of a list: {count, next, previous, results}. The class
# attribute also tells the OpenAPI schema that its list responses are paginated. (A comment, not a
# docstring: the schema would show a docstring as the description of every subclass' operations.)
class ListView(APIView):

    pagination_class = LimitOffsetPagination

    def paginated(self, request, queryset, serializer_class, **context):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True, context=context).data)


def _validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Auth ---------------------------------------------------------------------------------


class CsrfView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: s.CsrfOutput}, summary="Set the csrftoken cookie and return its value")
    @method_decorator(ensure_csrf_cookie)
    def get(self, request):
        return Response({"csrftoken": get_token(request)})


class LoginView(APIView):
    """Session login. CSRF is checked here too (login CSRF), so call /api/auth/csrf/ first."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=s.LoginInput, responses={200: s.MeOutput})
    def post(self, request):
        SessionAuthentication().enforce_csrf(request)
        data = _validated(s.LoginInput, request.data)
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:
            raise ApplicationError("Wrong username or password (or the account is deactivated).", code="invalid_credentials")
        login(request, user)
        return Response(s.MeOutput(user).data)


class LogoutView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenView(APIView):
    """An API token for scripts (send it as ``Authorization: Token <token>``)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=s.LoginInput, responses={200: s.TokenOutput})
    def post(self, request):
        data = _validated(s.LoginInput, request.data)
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:
            raise ApplicationError("Wrong username or password (or the account is deactivated).", code="invalid_credentials")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.MeOutput})
    def get(self, request):
        return Response(s.MeOutput(request.user).data)


class MeStatsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.MeStatsOutput})
    def get(self, request):
        return Response(s.MeStatsOutput(selectors.user_stats(user=request.user)).data)


# --- Projects -----------------------------------------------------------------------------


class ProjectListView(ListView):
    permission_classes = [AnyRoleReadAdminWrite]

    @extend_schema(responses={200: s.ProjectOutput(many=True)}, summary="Active projects; labelers also get their available work")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.project_list(), request, view=self)
        available = selectors.available_work(user=request.user, projects=page) if is_labeler(request.user) else None
        return paginator.get_paginated_response(s.ProjectOutput(page, many=True, context={"available": available}).data)

    @extend_schema(request=s.ProjectCreateInput, responses={201: s.ProjectOutput})
    def post(self, request):
        project = services.project_create(**_validated(s.ProjectCreateInput, request.data))
        return Response(s.ProjectOutput(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    permission_classes = [AnyRoleReadAdminWrite]

    @extend_schema(responses={200: s.ProjectOutput})
    def get(self, request, slug: str):
        project = selectors.project_get(slug=slug)
        available = selectors.available_work(user=request.user, projects=[project]) if is_labeler(request.user) else None
        return Response(s.ProjectOutput(project, context={"available": available}).data)

    @extend_schema(request=s.ProjectUpdateInput, responses={200: s.ProjectOutput})
    def patch(self, request, slug: str):
        project = selectors.project_get(slug=slug, include_inactive=True)
        project = services.project_update(project=project, **_validated(s.ProjectUpdateInput, request.data))
        return Response(s.ProjectOutput(project).data)

    @extend_schema(responses={204: None}, summary="Deactivate the project (its data is kept)")
    def delete(self, request, slug: str):
        services.project_deactivate(project=selectors.project_get(slug=slug, include_inactive=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectActivityView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: s.ActivityRowOutput(many=True)})
    def get(self, request, slug: str):
        project = selectors.project_get(slug=slug, include_inactive=True)
        return Response(s.ActivityRowOutput(selectors.project_activity(project=project), many=True).data)


# --- Prompts ------------------------------------------------------------------------------


class PromptListView(ListView):
    permission_classes = [EngineerReadAdminWrite]

    @extend_schema(parameters=[s.PromptListQuery], responses={200: s.PromptOutput(many=True)})
    def get(self, request, slug: str):
        query = _validated(s.PromptListQuery, request.query_params)
        project = selectors.project_get(slug=slug, include_inactive=True)
        qs = selectors.prompt_list(project=project, split=query.get("split"), search=query.get("search"))
        return self.paginated(request, qs, s.PromptOutput)

    @extend_schema(request=s.PromptCreateInput, responses={201: s.PromptOutput})
    def post(self, request, slug: str):
        project = selectors.project_get(slug=slug, include_inactive=True)
        prompt = services.prompt_create(project=project, created_by=request.user, **_validated(s.PromptCreateInput, request.data))
        return Response(s.PromptOutput(prompt).data, status=status.HTTP_201_CREATED)


class PromptDetailView(APIView):
    permission_classes = [EngineerReadAdminWrite]

    @extend_schema(responses={200: s.PromptOutput})
    def get(self, request, prompt_id: int):
        return Response(s.PromptOutput(selectors.prompt_get(prompt_id=prompt_id)).data)

    @extend_schema(request=s.PromptUpdateInput, responses={200: s.PromptOutput})
    def patch(self, request, prompt_id: int):
        prompt = services.prompt_update(prompt=selectors.prompt_get(prompt_id=prompt_id), **_validated(s.PromptUpdateInput, request.data))
        return Response(s.PromptOutput(prompt).data)

    @extend_schema(responses={204: None})
    def delete(self, request, prompt_id: int):
        services.prompt_delete(prompt=selectors.prompt_get(prompt_id=prompt_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RawImportParser(BaseParser):
    """Any other content type: the request body is the file itself (``?format=`` names it)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.LABELING["MAX_IMPORT_BYTES"]
        data = stream.read(limit + 1) if stream is not None else b""
        return {"raw": data}


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """Answers in JSON whatever ``?format=`` says: on the import endpoint that parameter names
    the uploaded file's format, not the response's."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PromptImportView(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser, RawImportParser]
    content_negotiation_class = JsonOnlyNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["jsonl", "csv", "json"], description="Default: from the file name, else sniffed.")],
        request={"multipart/form-data": s.PromptImportFileInput, "application/octet-stream": bytes},
        responses={201: s.PromptImportOutput, 400: OpenApiResponse(description='{"error": {"code": "import_invalid", "details": {"errors": [{"line", "field", "message"}]}}}')},
    )
    def post(self, request, slug: str):
        project = selectors.project_get(slug=slug, include_inactive=True)
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if upload is not None and hasattr(upload, "read"):
            limit = settings.LABELING["MAX_IMPORT_BYTES"]
            data, filename = upload.read(limit + 1), upload.name
        elif "raw" in request.data:
            data, filename = request.data["raw"], None
        else:
            raise ApplicationError("Send the file as the multipart field 'file' or as the request body.", details={"field": "file"})
        prompts = services.prompts_import(
            project=project, data=data, format=request.query_params.get("format") or None, filename=filename,
            created_by=request.user,
        )
        return Response({"created": len(prompts)}, status=status.HTTP_201_CREATED)


# --- The queue ----------------------------------------------------------------------------


def _assignment_payload(assignment_id: int) -> dict:
    # The shape of s.AssignmentOutput (the schema), built in one query for the hot path.
    return selectors.assignment_payload(assignment_id=assignment_id)


class NextTaskView(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(request=s.NextTaskInput, responses={200: s.NextTaskOutput}, summary="Claim (or resume) your next task")
    def post(self, request, slug: str):
        data = _validated(s.NextTaskInput, request.data)
        project = selectors.project_get(slug=slug)
        assignment = services.assignment_claim_next(user=request.user, project=project, kind=data.get("kind"))
        if assignment is None:
            return Response({"assignment": None, "message": NO_MORE_TASKS})
        return Response({"assignment": _assignment_payload(assignment.pk)})


class AssignmentListView(ListView):
    permission_classes = [IsLabeler]

    @extend_schema(parameters=[s.AssignmentListQuery], responses={200: s.AssignmentOutput(many=True)})
    def get(self, request):
        query = _validated(s.AssignmentListQuery, request.query_params)
        return self.paginated(request, selectors.assignment_list_for_user(user=request.user, status=query.get("status")), s.AssignmentOutput)


class AssignmentDetailView(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(responses={200: s.AssignmentOutput})
    def get(self, request, assignment_id: int):
        return Response(s.AssignmentOutput(selectors.assignment_get_for_user(assignment_id=assignment_id, user=request.user)).data)


class AssignmentHeartbeatView(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(request=None, responses={200: s.HeartbeatOutput})
    def post(self, request, assignment_id: int):
        assignment = services.assignment_heartbeat(assignment_id=assignment_id, user=request.user)
        return Response({"expires_at": assignment.expires_at})


class AssignmentDraftView(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(request=s.DraftSaveInput, responses={200: s.DraftSaveOutput})
    def put(self, request, assignment_id: int):
        data = _validated(s.DraftSaveInput, request.data)
        assignment = services.assignment_draft_save(assignment_id=assignment_id, user=request.user, text=data["text"])
        return Response({"draft_saved_at": assignment.draft_saved_at})


class AssignmentSkipView(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(request=s.SkipInput, responses={200: s.AssignmentOutput})
    def post(self, request, assignment_id: int):
        data = _validated(s.SkipInput, request.data)
        assignment = services.assignment_skip(assignment_id=assignment_id, user=request.user, reason=data["reason"])
        return Response(_assignment_payload(assignment.pk))


class AssignmentSubmitView(APIView):
    """Submit a demonstration ({text}) or a ranking ({order, scores, ...}). Safe to retry:
    the same assignment, or the same Idempotency-Key, answers 200 with the first result."""

    permission_classes = [IsLabeler]

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="AssignmentSubmitInput",
            serializers=[s.DemonstrationSubmitInput, s.RankingSubmitInput],
            resource_type_field_name=None,
        ),
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, description="Any unique string per submission.")],
        responses={201: s.AssignmentSubmitOutput, 200: s.AssignmentSubmitOutput},
    )
    def post(self, request, assignment_id: int):
        body = request.data
        key = request.headers.get("Idempotency-Key") or None
        if isinstance(body, dict) and "order" in body:
            result = services.assignment_submit_ranking(
                assignment_id=assignment_id, user=request.user, idempotency_key=key, **_validated(s.RankingSubmitInput, body)
            )
        else:
            result = services.assignment_submit_demonstration(
                assignment_id=assignment_id, user=request.user, idempotency_key=key, **_validated(s.DemonstrationSubmitInput, body)
            )
        payload = {
            "id": result.submission.pk,
            "kind": result.kind,
            "assignment_id": result.assignment.pk,
            "submitted_at": result.assignment.submitted_at,
        }
        return Response(payload, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


# --- Users --------------------------------------------------------------------------------


class UserListView(ListView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: s.UserOutput(many=True)})
    def get(self, request):
        return self.paginated(request, selectors.user_list(), s.UserOutput)

    @extend_schema(request=s.UserCreateInput, responses={201: s.UserOutput})
    def post(self, request):
        user = services.user_create(**_validated(s.UserCreateInput, request.data))
        return Response(s.UserOutput(selectors.user_get(user_id=user.pk)).data, status=status.HTTP_201_CREATED)


class UserDetailView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: s.UserOutput})
    def get(self, request, user_id: int):
        return Response(s.UserOutput(selectors.user_get(user_id=user_id)).data)

    @extend_schema(request=s.UserUpdateInput, responses={200: s.UserOutput})
    def patch(self, request, user_id: int):
        data = _validated(s.UserUpdateInput, request.data)
        if data.get("is_active") is False and user_id == request.user.pk:
            raise ApplicationError("You cannot deactivate your own account.", details={"field": "is_active"})
        services.user_update(user=selectors.user_get(user_id=user_id), **data)
        return Response(s.UserOutput(selectors.user_get(user_id=user_id)).data)


ROLE_DESCRIPTIONS = {
    "labeler": "Claims tasks, writes demonstrations and ranks samples; sees only their own work.",
    "admin": "Manages projects, prompts, users and training rounds.",
    "ml_engineer": "Reads data, exports datasets and downloads checkpoints.",
}


class RoleListView(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(responses={200: s.RoleOutput(many=True)})
    def get(self, request):
        return Response([{"name": name, "description": text} for name, text in ROLE_DESCRIPTIONS.items()])
