"""Liveness and readiness probe for load balancers, orchestrators and scripts.

``GET /api/health/`` answers without authentication and says nothing beyond whether this web
process can reach its database: 200 ``{"status": "ok", "database": "ok"}``, else 503 with
``"database": "unavailable"``. It is exempt from the HTTPS redirect so a probe on the plain
port behind a TLS proxy gets the answer, not a 301.
"""

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


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
