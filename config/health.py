"""Liveness and readiness probe for load balancers, orchestrators and scripts.

``GET /api/health/`` answers without authentication and says nothing beyond whether this web
process can reach its database: 200 ``{"status": "ok", "database": "ok"}``, else 503 with
``"database": "unavailable"``.

``HealthCheckMiddleware`` sits first in ``MIDDLEWARE`` and answers the probe before the rest
of the stack: a container healthcheck calls ``http://127.0.0.1:8000/api/health/``, and neither
the HTTPS redirect nor ``ALLOWED_HOSTS`` (which names the public host, not 127.0.0.1) may turn
that into a 301 or a 400. The URL route serves the same view for the API docs and tests.
"""

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

HEALTH_PATH = "/api/health/"


@require_safe
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health check: database unavailable: %s", exc)
        return JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


class HealthCheckMiddleware:
    """Answer the probe before host validation, redirects, sessions and auth run."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path_info == HEALTH_PATH:
            return health(request)
        return self.get_response(request)
