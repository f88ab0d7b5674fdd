"""Settings for every environment. The embedded defaults need no server:
SQLite in WAL mode and Celery's filesystem transport, all under ``DATA_DIR``.
"""

from pathlib import Path

import dj_database_url

from config.env import BASE_DIR, DATA_DIR, env_bool, env_int, env_list, env_str

DEBUG = env_bool("DEBUG", False)
# The embedded key only serves the local demo; production.py refuses to start without SECRET_KEY.
SECRET_KEY = env_str("SECRET_KEY") or "insecure-local-demo-key-change-me-0123456789abcdefghijklmnop"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "labeling",
    "training",
    "exports",
    "config.apps.ProjectConfig",
]

MIDDLEWARE = [
    # First: the container healthcheck's probe, answered before host checks and redirects.
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATA_DIR.mkdir(parents=True, exist_ok=True)

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE takes the write lock
    # at BEGIN so two writers queue up instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # psycopg prepares a statement once it has run this many times on a connection, for cursors
    # that bind parameters on the server: the labeling hot path's (labeling.sql.hot_cursor), which
    # then skip parsing and planning (most of Postgres' CPU per next-task). The ORM keeps Django's
    # client-side binding, which has no cap on parameters (server-side binding takes at most
    # 65,535 per statement). Behind PgBouncer in transaction mode before 1.21, set
    # DATABASE_PREPARED_STATEMENTS=0.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Round snapshots stream rankings through server-side cursors (WITH HOLD outside a
    # transaction); a pooler in transaction mode cannot keep those: set this to 1 behind one.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", False)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# collectstatic's output. The Docker image sets it outside DATA_DIR: a volume mounted there
# would otherwise keep the first image's files across upgrades.
STATIC_ROOT = Path(env_str("STATIC_ROOT") or DATA_DIR / "static")
STATICFILES_DIRS = [d for d in [BASE_DIR / "frontend" / "dist"] if d.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "labeling.api.authentication.RoleTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "RLHF platform API",
    "DESCRIPTION": "Collect demonstrations and rankings, run training rounds, export data and checkpoints.",
    "VERSION": "1.0.0",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.openapi.error_responses"],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status", "kind" or "stage": name each enum after its owner.
    "ENUM_NAME_OVERRIDES": {
        "AssignmentStatusEnum": "labeling.models.Assignment.Status",
        "TaskKindEnum": "labeling.models.Task.Kind",
        "PromptSplitEnum": "labeling.models.Split",
        "RoundStatusEnum": "training.models.TrainingRound.Status",
        "JobStatusEnum": "training.models.TrainingJob.Status",
        "JobStageEnum": "training.models.TrainingJob.Stage",
        "CheckpointStageEnum": "training.models.Checkpoint.Stage",
        "ExportStatusEnum": "exports.models.ExportJob.Status",
        "ExportKindEnum": "exports.models.ExportKind",
    },
}

# --- Celery -------------------------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers an unacknowledged message after this many seconds: it must outlast
    # the longest training job, or a second worker would start the same stage.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 12 * 3600)}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- App knobs: one namespaced dict per app -----------------------------------------------
LABELING = {
    # Longest demonstration or prompt text accepted, in characters.
    "MAX_TEXT_CHARS": env_int("LABELING_MAX_TEXT_CHARS", 20_000),
    # Largest prompt-import upload, in bytes.
    "MAX_IMPORT_BYTES": env_int("LABELING_MAX_IMPORT_BYTES", 20 * 1024 * 1024),
    # Most lines in one prompt import.
    "MAX_IMPORT_ROWS": env_int("LABELING_MAX_IMPORT_ROWS", 100_000),
    # Server-side binding and prepared statements for the next-task / submit statements (Postgres).
    "PREPARED_STATEMENTS": DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and env_bool("DATABASE_PREPARED_STATEMENTS", True),
}

TRAINING = {
    # Where checkpoints, snapshots and exports are written; shared by every worker.
    "DATA_DIR": DATA_DIR,
    # Base model a project's first round starts from: a local path or a hub name.
    # Empty means the tiny model that `manage.py bootstrap_tiny_model` builds under DATA_DIR.
    "BASE_MODEL": env_str("TRAINING_BASE_MODEL", ""),
    # A running job writes its heartbeat (progress, metrics, log tail) at most this often.
    "HEARTBEAT_EVERY_S": env_int("TRAINING_HEARTBEAT_EVERY_S", 2),
    # A running job whose heartbeat is older than this lost its worker: the sweeper re-queues it.
    # Must exceed the longest gap between two training steps (model loading included).
    "HEARTBEAT_TIMEOUT_S": env_int("TRAINING_HEARTBEAT_TIMEOUT_S", 600),
    # Times a job is started before the sweeper gives up on it and fails the round.
    "MAX_ATTEMPTS": env_int("TRAINING_MAX_ATTEMPTS", 3),
    # Soft time limit of one stage job (the hard limit is 5 minutes later); stays below the
    # broker's visibility timeout so a live job is never redelivered.
    "JOB_SOFT_TIME_LIMIT_S": env_int("TRAINING_JOB_TIME_LIMIT_S", 10 * 3600),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
