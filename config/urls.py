from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.api_fallback import api_not_found
from config.health import health
from config.spa import spa_index

urlpatterns = [
    # First: the labeling API carries most requests (see labeling/api/urls.py).
    path("api/", include("labeling.api.urls")),
    path("api/health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/", include("training.api.urls")),
    path("api/", include("exports.api.urls")),
    # Any other /api/ path: a JSON 404 in the API's error shape (config/api_fallback.py).
    re_path(r"^api/", api_not_found, name="api-not-found"),
    # The single-page app answers every other path (frontend routes); see config/spa.py.
    re_path(r"^(?!api/|admin/|static/|accounts/).*$", spa_index, name="spa"),
]
