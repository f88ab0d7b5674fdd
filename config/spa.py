"""Serves the single-page app's index.html for every path the frontend routes itself.

The build (frontend/dist, made by `make frontend`) is read per request so a rebuild needs no
restart; when it is missing, a plain page says how to build it instead of a bare 404/500.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

MISSING_BUILD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Frontend not built</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>The web UI is not built yet</h1>
<p>Build it with <code>make frontend</code> (or <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>)
and reload this page. The API is available at <a href="/api/docs/">/api/docs/</a>.</p>
</body></html>"""


@require_safe
@ensure_csrf_cookie
def spa_index(request: HttpRequest) -> HttpResponse:
    """Return the SPA shell; the browser-side router picks the screen from the path."""
    index = settings.BASE_DIR / "frontend" / "dist" / "index.html"
    try:
        html = index.read_text(encoding="utf-8")
    except FileNotFoundError:
        return HttpResponse(MISSING_BUILD_PAGE, status=503, content_type="text/html; charset=utf-8")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    # The shell names hashed asset files, so it must never be cached past a rebuild.
    response["Cache-Control"] = "no-cache"
    return response
