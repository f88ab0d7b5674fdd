"""One error shape for the whole API.

Services raise :class:`ApplicationError`; :func:`api_exception_handler` turns it, and every
DRF/Django error, into ``{"error": {"code", "message", "fields"?, "details"?}}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A failure the caller can act on. ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, *, code: str = "invalid", status: int = 400, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details or {}


class NotFound(ApplicationError):
    def __init__(self, message: str = "Not found.", **kwargs: Any):
        super().__init__(message, code="not_found", status=404, **kwargs)


class Conflict(ApplicationError):
    def __init__(self, message: str, *, code: str = "conflict", **kwargs: Any):
        super().__init__(message, code=code, status=409, **kwargs)


class Forbidden(ApplicationError):
    def __init__(self, message: str = "You do not have permission to do this.", **kwargs: Any):
        super().__init__(message, code="forbidden", status=403, **kwargs)


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            msg = _first_message(value)
            return msg if key == "non_field_errors" else f"{key}: {msg}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.details:
            body["details"] = exc.details
        return Response({"error": body}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"error": {"code": "invalid", "message": _first_message(fields), "fields": fields}}
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        response.data = {"error": {"code": code, "message": _first_message(exc.detail)}}
    return response
