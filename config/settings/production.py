"""Production: refuses to start without a real secret key; passes ``check --deploy``."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_str

_secret = env_str("SECRET_KEY")
if not _secret or len(_secret) < 50 or len(set(_secret)) < 5:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random string of at least 50 characters in production. "
        "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"
    )

from config.settings.base import *  # noqa: E402,F403

SECRET_KEY = _secret
DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
