"""Unknown paths under /api/ answer in the API's error shape, not with Django's HTML 404 page."""

from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # it changes nothing, and a POST to a wrong path should hear "not found", not a CSRF failure
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    message = f"No API endpoint at {request.path}: see /api/docs/ for the endpoints."
    if not request.path.endswith("/"):
        try:
            with_slash = resolve(request.path + "/").url_name
        except Resolver404:
            with_slash = None
        if with_slash not in (None, "api-not-found"):  # a real endpoint, not this fallback again
            message = f"No API endpoint at {request.path}: API paths end with a slash ({request.path}/)."
    return JsonResponse({"error": {"code": "not_found", "message": message}}, status=404)
