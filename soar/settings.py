"""Mini-SOAR settings. Every knob comes from the environment; docs/configuration is the
README's table. With no environment at all this is the embedded mode: SQLite (WAL) and
Celery tasks run in-process, so `make run` works on a bare machine."""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: Any = None) -> Any:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool | str = False) -> bool:
    return str(env(name, default)).lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int | str) -> int:
    return int(env(name, default))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in str(env(name, default)).split(",") if item.strip()]


# "production" turns on every secure-cookie/HSTS/CSP setting and requires a real secret.
SOAR_ENV = env("SOAR_ENV", "development")
PRODUCTION = SOAR_ENV == "production"
DEBUG = env_bool("SOAR_DEBUG", False)
SECRET_KEY = env("SOAR_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise RuntimeError("SOAR_SECRET_KEY must be set when SOAR_ENV=production")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"  # noqa: S105 - development fallback; production refuses to start without SOAR_SECRET_KEY
ALLOWED_HOSTS = env_list("SOAR_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("SOAR_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "guardian",
    "django_celery_beat",
    "django_prometheus",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "attack",  # issue 18: MITRE ATT&CK catalogue (lowest domain floor)
    "cases",
    "alerts",
    "enrichment",
    "evidence",
    "connectors",
    "playbooks",
    "reporting",
    "search",
    "demo",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "soar.middleware.RequestIdMiddleware",
    "soar.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cases.totp.SecondFactorMiddleware",  # a local log-in with TOTP stops at /login/otp/ (cases/totp.py)
    "django.contrib.messages.middleware.MessageMiddleware",
    "cases.middleware.UserTimezoneMiddleware",
    "soar.middleware.ApplicationErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "soar.urls"
WSGI_APPLICATION = "soar.wsgi.application"

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
                "cases.context_processors.layout",  # theme on <html>, audit-log link
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
VAR_DIR = Path(env("SOAR_VAR_DIR", BASE_DIR / "var"))
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("SOAR_DB_CONN_MAX_AGE", 60))}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django's queries bind on the client and are never prepared; the webhook's INSERT runs on
    # a server-side-binding cursor and is prepared after this many runs on a connection.
    # "off" for a pooler that cannot keep prepared statements (PgBouncer < 1.21, transaction mode).
    _prepare = env("SOAR_DB_PREPARE_THRESHOLD", "5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        None if _prepare.lower() in ("off", "none", "") else int(_prepare)
    )
    # Behind PgBouncer in transaction mode a server-side cursor (the exports' .iterator()) would
    # outlive the transaction its server connection was lent for: read those rows client-side.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("SOAR_DB_TRANSACTION_POOLER", False)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "soar.sqlite3"),
            "OPTIONS": {
                # Writers queue for the lock instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            },
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if IS_POSTGRES and env("PYTEST_DB_SUFFIX"):
    # Lets several test runs share one PostgreSQL server without dropping each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{env('PYTEST_DB_SUFFIX')}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # ModelBackend that refuses local passwords when SOAR_LOCAL_LOGIN=0, except break-glass accounts.
    "soar.security.LocalPasswordBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SOAR_SESSION_AGE_SECONDS", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SOAR_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SOAR_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- i18n / static --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": [
        "soar.api.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that refusals are 401 + WWW-Authenticate (DRF takes the first class's header).
        "cases.api.authentication.ApiTokenAuthentication",  # hashed, expiring tokens + a throttle on wrong ones
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "soar.api.exception_handler",
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Mini-SOAR API",
    "DESCRIPTION": "Alert ingestion, cases, enrichment and playbooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The default hook, then the error responses (400/401/403/404/409/413/415/429/503) of every operation.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "soar.openapi.add_error_responses"],
}

# --- ingestion limits -----------------------------------------------------------------
SOAR_MAX_BODY_BYTES = env_int("SOAR_MAX_BODY_BYTES", 16 * 1024 * 1024)
SOAR_MAX_BATCH_ITEMS = env_int("SOAR_MAX_BATCH_ITEMS", 1000)
SOAR_MAX_JSON_DEPTH = env_int("SOAR_MAX_JSON_DEPTH", 32)
SOAR_HMAC_WINDOW_SECONDS = env_int("SOAR_HMAC_WINDOW_SECONDS", 300)
# Alerts still unprocessed this long after arrival are re-dispatched by the sweep.
SOAR_SWEEP_AFTER_SECONDS = env_int("SOAR_SWEEP_AFTER_SECONDS", 10)
# An alert whose processing failed is retried by the sweep this long after its last attempt,
# at most this many times; then it stays FAILED (and waits in the alert queue).
SOAR_FAILED_ALERT_RETRY_AFTER_SECONDS = env_int("SOAR_FAILED_ALERT_RETRY_AFTER_SECONDS", 300)
SOAR_FAILED_ALERT_RETRIES = env_int("SOAR_FAILED_ALERT_RETRIES", 3)
# Each web process keeps an authenticated source this long (0: read it on every request);
# disabling or rotating a source takes effect in the other processes within this delay.
SOAR_SOURCE_CACHE_SECONDS = env_int("SOAR_SOURCE_CACHE_SECONDS", 5)
# The web process's outbox relay waits this long after an alert is committed so that alerts
# arriving meanwhile go to the broker in one message (0: publish each at once).
SOAR_OUTBOX_LINGER_MS = env_int("SOAR_OUTBOX_LINGER_MS", 10)
# Fairness in a storm: a source with more than this many alerts waiting for processing has its
# alerts published to the bulk queue (SOAR_CELERY_BULK_QUEUE), which the workers consume in
# turn with the main queue, so that the other sources' alerts do not wait behind it (0: every
# alert on the main queue).
SOAR_BULK_BACKLOG_THRESHOLD = env_int("SOAR_BULK_BACKLOG_THRESHOLD", 1000)
# The outbox sweep re-queues at most this many alerts of one source per run, taken round-robin
# across sources (the oldest of each source first), not strictly oldest first.
SOAR_SWEEP_PER_SOURCE = env_int("SOAR_SWEEP_PER_SOURCE", 1000)
# Alerts correlated per transaction by a worker (a constant number of statements per chunk).
SOAR_CORRELATION_CHUNK = env_int("SOAR_CORRELATION_CHUNK", 500)
DATA_UPLOAD_MAX_MEMORY_SIZE = SOAR_MAX_BODY_BYTES

# --- evidence files and observables (evidence app, alerts.observable_intel) -----------------
# Largest evidence file accepted (413 above); the body is refused by its declared length first.
SOAR_EVIDENCE_MAX_BYTES = env_int("SOAR_EVIDENCE_MAX_BYTES", 50 * 1024 * 1024)
# Evidence bytes are kept through the "evidence" storage, content-addressed by SHA-256, in this
# directory (outside STATIC_ROOT: nothing serves it but the download view, which checks access).
# SOAR_EVIDENCE_STORE=s3 keeps them in an S3-compatible bucket instead (AWS S3, MinIO, Ceph,
# Garage; django-storages), e.g. the compose stack's MinIO (docs/admin-guide.md, "Evidence files").
SOAR_EVIDENCE_DIR = Path(env("SOAR_EVIDENCE_DIR", VAR_DIR / "evidence"))
SOAR_EVIDENCE_STORE = env("SOAR_EVIDENCE_STORE", "file")
_EVIDENCE_FILE_STORAGE = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    # base_url None: the storage has no public URL; files leave only through the download view.
    "OPTIONS": {"location": str(SOAR_EVIDENCE_DIR), "base_url": None,
                "file_permissions_mode": 0o640, "directory_permissions_mode": 0o750},
}
if SOAR_EVIDENCE_STORE not in ("file", "s3"):
    raise ImproperlyConfigured("SOAR_EVIDENCE_STORE must be 'file' or 's3'.")
if SOAR_EVIDENCE_STORE == "s3":
    # Only deployments with an S3 store load botocore (at start-up, like every setting).
    from botocore.config import Config as BotoConfig

    if not env("SOAR_EVIDENCE_S3_BUCKET"):
        raise ImproperlyConfigured("SOAR_EVIDENCE_STORE=s3 needs SOAR_EVIDENCE_S3_BUCKET.")
    _EVIDENCE_SSE = env("SOAR_EVIDENCE_S3_SSE", "")  # "", "AES256" or "aws:kms"
    if _EVIDENCE_SSE not in ("", "AES256", "aws:kms"):
        raise ImproperlyConfigured("SOAR_EVIDENCE_S3_SSE must be empty, 'AES256' or 'aws:kms'.")
    _EVIDENCE_OBJECT_PARAMETERS = {"ServerSideEncryption": _EVIDENCE_SSE} if _EVIDENCE_SSE else {}
    if _EVIDENCE_SSE == "aws:kms" and env("SOAR_EVIDENCE_S3_KMS_KEY_ID"):
        _EVIDENCE_OBJECT_PARAMETERS["SSEKMSKeyId"] = env("SOAR_EVIDENCE_S3_KMS_KEY_ID")
    _EVIDENCE_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("SOAR_EVIDENCE_S3_BUCKET"),
            # Empty for AWS itself; the URL of MinIO/Ceph/Garage otherwise.
            "endpoint_url": env("SOAR_EVIDENCE_S3_ENDPOINT_URL"),
            "region_name": env("SOAR_EVIDENCE_S3_REGION"),
            # Empty: boto3's own chain (instance role, AWS_* variables). The option names hold
            # "key", so Django's error reports mask them; nothing here logs them.
            "access_key": env("SOAR_EVIDENCE_S3_ACCESS_KEY"),
            "secret_key": env("SOAR_EVIDENCE_S3_SECRET_KEY"),
            # Private objects, never a public URL: downloads stream through the download view
            # (access check, audit, attachment headers), so signed query-string URLs are unused.
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 60,
            # Content-addressed names: the same name is the same bytes, so rewriting it is harmless.
            "file_overwrite": True,
            "object_parameters": _EVIDENCE_OBJECT_PARAMETERS,
            # A store that does not answer fails the request in seconds (503), not after minutes.
            # MinIO and most self-hosted stores want path-style URLs (no per-bucket DNS names).
            "client_config": BotoConfig(
                connect_timeout=env_int("SOAR_EVIDENCE_S3_TIMEOUT", 10),
                read_timeout=env_int("SOAR_EVIDENCE_S3_TIMEOUT", 10),
                retries={"max_attempts": 2, "mode": "standard"}, signature_version="s3v4",
                s3={"addressing_style": "path" if env_bool("SOAR_EVIDENCE_S3_PATH_STYLE", False) else "auto"}),
        },
    }
else:
    _EVIDENCE_STORAGE = _EVIDENCE_FILE_STORAGE
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "evidence": _EVIDENCE_STORAGE,
}
# "Seen in N other cases" counts the cases the user may open; with this on it also tells how many
# other cases (a number only, never which) hold the observable beyond those.
SOAR_OBSERVABLE_COUNT_HIDDEN_CASES = env_bool("SOAR_OBSERVABLE_COUNT_HIDDEN_CASES", False)

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# Embedded mode only: "background" processes webhook alerts in a thread of the web process after
# the response; "inline" before it (what the unit tests use, to assert on the result at once).
SOAR_EMBEDDED_PROCESSING = env("SOAR_EMBEDDED_PROCESSING", "background")
if SOAR_EMBEDDED_PROCESSING not in ("background", "inline"):
    raise ImproperlyConfigured("SOAR_EMBEDDED_PROCESSING must be 'background' or 'inline'.")
CELERY_TASK_EAGER_PROPAGATES = False
# Embedded mode only: one web process per data directory runs the beat schedule below (the
# sweeps, retention, report roll-ups and schedules, pull connectors) in a thread (soar/embedded_beat.py).
SOAR_EMBEDDED_BEAT = env_bool("SOAR_EMBEDDED_BEAT", True)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A request must not hang while the broker is down: the outbox sweep re-dispatches later.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Celery >= 5.6's Django fixup closes the database connection before and after every task
# (celery#9824: it no longer trusts CONN_MAX_AGE) unless CELERY_DB_REUSE_MAX is set; then it
# closes it every that many tasks. A correlation chunk is one task: each one paid a new
# PostgreSQL backend (fork, authentication, catalog caches, trigger functions compiled again,
# prepared statements lost), about half of PostgreSQL's CPU in a storm (bench/results.md).
# soar/celery.py gives the connection the life Django gives it across requests: checked at
# each task's start (CONN_MAX_AGE, CONN_HEALTH_CHECKS), closed after any task that failed
# (a query interrupted by a time limit or a database error may leave it unusable).
CELERY_DB_REUSE_MAX = env_int("SOAR_CELERY_DB_REUSE_MAX", 1000)
# Every task is stopped after this long (hard limit: the prefork child is killed; the soft
# limit, 30 s earlier, raises SoftTimeLimitExceeded inside the task first).
SOAR_CELERY_TASK_TIME_LIMIT_SECONDS = env_int("SOAR_CELERY_TASK_TIME_LIMIT_SECONDS", 300)
CELERY_TASK_TIME_LIMIT = SOAR_CELERY_TASK_TIME_LIMIT_SECONDS
CELERY_TASK_SOFT_TIME_LIMIT = max(SOAR_CELERY_TASK_TIME_LIMIT_SECONDS - 30, 1)
# visibility_timeout: a task taken by a worker that dies as a whole (SIGKILL of the main process,
# host lost) stays unacknowledged in Redis this long before it is delivered again; a prefork
# child dying is re-queued at once (REJECT_ON_WORKER_LOST). It must exceed the longest task's
# run time (the hard limit above), or Redis hands a still-running task to a second worker:
# default twice the hard limit. docs/architecture.md.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2, "socket_timeout": 5,
    "visibility_timeout": env_int("SOAR_CELERY_VISIBILITY_TIMEOUT_SECONDS", 2 * SOAR_CELERY_TASK_TIME_LIMIT_SECONDS),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env("SOAR_CELERY_QUEUE", "celery")
# Recovery sweeps have a queue of their own, so that they do not wait behind a backlog of
# enrichment or processing after a fault; workers consume it (celery worker -Q celery,celery-sweep,celery-bulk).
SOAR_CELERY_SWEEP_QUEUE = env("SOAR_CELERY_SWEEP_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-sweep")
# Processing of the alerts of a source in a storm (SOAR_BULK_BACKLOG_THRESHOLD): consumed by the
# same workers, in turn with the main queue (kombu reads the queues round-robin).
SOAR_CELERY_BULK_QUEUE = env("SOAR_CELERY_BULK_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-bulk")
SOAR_SWEEP_TASKS = [
    "alerts.tasks.sweep_unprocessed_alerts",
    "alerts.tasks.purge_old_alerts",
    "enrichment.tasks.sweep_enrichment_requests",
    "playbooks.tasks.sweep_playbook_triggers",
    "playbooks.tasks.resume_stale_runs",
    "playbooks.tasks.expire_approvals",
    "connectors.tasks.run_due_connectors",
]
CELERY_TASK_ROUTES = {name: {"queue": SOAR_CELERY_SWEEP_QUEUE} for name in SOAR_SWEEP_TASKS}
# A worker started without -Q consumes the three queues: recovery and a storm's alerts never
# depend on an operator remembering the sweep or bulk queue.
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(SOAR_CELERY_SWEEP_QUEUE),
                      Queue(SOAR_CELERY_BULK_QUEUE))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "sweep-unprocessed-alerts": {
        "task": "alerts.tasks.sweep_unprocessed_alerts",
        "schedule": float(env("SOAR_SWEEP_INTERVAL_SECONDS", 5)),
    },
}
# Retention: alerts received more than SOAR_ALERT_RETENTION_DAYS ago (0: kept forever) are
# deleted by a beat task every SOAR_RETENTION_INTERVAL_SECONDS, SOAR_RETENTION_BATCH per
# transaction, after being written to a gzip JSON Lines file in SOAR_RETENTION_EXPORT_DIR when set
# (alerts/retention.py). Alerts of open cases and unprocessed alerts are kept.
SOAR_ALERT_RETENTION_DAYS = env_int("SOAR_ALERT_RETENTION_DAYS", 0)
SOAR_RETENTION_BATCH = env_int("SOAR_RETENTION_BATCH", 1000)
SOAR_RETENTION_EXPORT_DIR = env("SOAR_RETENTION_EXPORT_DIR", "")
SOAR_RETENTION_INTERVAL_SECONDS = float(env("SOAR_RETENTION_INTERVAL_SECONDS", 3600))
if SOAR_ALERT_RETENTION_DAYS < 0 or SOAR_RETENTION_BATCH < 1:
    raise ImproperlyConfigured("SOAR_ALERT_RETENTION_DAYS must be >= 0 and SOAR_RETENTION_BATCH >= 1.")
CELERY_BEAT_SCHEDULE["purge-old-alerts"] = {
    "task": "alerts.tasks.purge_old_alerts",
    "schedule": SOAR_RETENTION_INTERVAL_SECONDS,
}
# Follow-up work of alerts put in cases (enrichment requests, playbook trigger evaluations) is
# recorded in the same transaction; what is still not done this long after it was last
# queued is queued again by the apps' sweeps (every SOAR_FOLLOW_UP_SWEEP_INTERVAL_SECONDS),
# at most SOAR_FOLLOW_UP_MAX_ATTEMPTS times.
SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS = env_int("SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS", 10)
# A running enrichment request's claim, renewed by a heartbeat every third of it: a worker killed
# mid-task frees its requests for the sweep after this long.
SOAR_FOLLOW_UP_LEASE_SECONDS = env_int("SOAR_FOLLOW_UP_LEASE_SECONDS", 30)
SOAR_FOLLOW_UP_SWEEP_INTERVAL_SECONDS = float(env("SOAR_FOLLOW_UP_SWEEP_INTERVAL_SECONDS", 5))
SOAR_FOLLOW_UP_MAX_ATTEMPTS = env_int("SOAR_FOLLOW_UP_MAX_ATTEMPTS", 10)

# --- caches ---------------------------------------------------------------------------
# Optional: several web processes share the log-in throttle and report figures only through it.
# The app fails open for the cache (soar/safe_cache.py): with the server down, log-in and the
# reports keep working, without throttle memory. Short socket timeouts so a dead host costs little.
CACHE_URL = env("SOAR_CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
         "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- logging: no secrets, request id on every line ------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "soar.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("SOAR_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                # WeasyPrint logs each layout step at INFO (also while importing: its default stylesheet).
                "weasyprint.progress": {"level": "WARNING"},
                # Evidence in S3 (issue 18): botocore's DEBUG lines carry the signed request headers
                # (the access key id); INFO and above never do, whatever SOAR_LOG_LEVEL says.
                "botocore": {"level": "INFO"}, "boto3": {"level": "INFO"}, "s3transfer": {"level": "INFO"}},
}

# --- enrichment (owned by the enrichment app) ------------------------------------------
# Hosts or CIDRs that enrichment connectors may reach even though they are private,
# loopback or link-local (e.g. an internal NetBox). Everything non-global is refused otherwise.
SOAR_SSRF_ALLOWLIST = env_list("SOAR_SSRF_ALLOWLIST", "")
# Cloud prefixes for IP classification (default: the sample shipped in enrichment/data/).
SOAR_CLOUD_RANGES_FILE = env("SOAR_CLOUD_RANGES_FILE", "")
# Enrich automatically when cases open / alerts are processed.
SOAR_ENRICHMENT_AUTO = env_bool("SOAR_ENRICHMENT_AUTO", True)
# Also enrich observables of alerts still waiting in the queue (results kept without a case).
SOAR_ENRICH_QUEUED_ALERTS = env_bool("SOAR_ENRICH_QUEUED_ALERTS", False)
CELERY_BEAT_SCHEDULE["sweep-enrichment-requests"] = {
    "task": "enrichment.tasks.sweep_enrichment_requests",
    "schedule": SOAR_FOLLOW_UP_SWEEP_INTERVAL_SECONDS,
}
# Longest wait honoured from a provider's Retry-After header, and for a local rate-limit token.
SOAR_ENRICHMENT_MAX_RETRY_AFTER_SECONDS = env_int("SOAR_ENRICHMENT_MAX_RETRY_AFTER_SECONDS", 30)
SOAR_ENRICHMENT_MAX_RATE_WAIT_SECONDS = env_int("SOAR_ENRICHMENT_MAX_RATE_WAIT_SECONDS", 5)
# LDAP directory provider: CA bundle (PEM) that signs the directory's ldaps:// certificate
# (empty: the system's CAs; a provider's "ca_file" option wins). Certificates are always
# validated. Plaintext ldap:// sends the bind password in clear: refused unless allowed here.
SOAR_LDAP_CA_FILE = env("SOAR_LDAP_CA_FILE", "")
SOAR_LDAP_ALLOW_PLAINTEXT = env_bool("SOAR_LDAP_ALLOW_PLAINTEXT", False)

# --- cases / RBAC / analyst UI (cases engineer) -----------------------------------------
# Two models have a "status" choice set; name their OpenAPI enums explicitly.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update({
    "CaseStatusEnum": "cases.models.Case.Status",
    "AlertStatusEnum": "alerts.models.Alert.Status",
    "TaskStatusEnum": "cases.models.TaskStatus",
    "TrafficLightEnum": "cases.vocabulary.TrafficLight",  # TLP and PAP share it
})

# --- e-mail (shared: report e-mails and playbook e-mail actions) ---------------------------
EMAIL_BACKEND = env("SOAR_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("SOAR_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("SOAR_SMTP_PORT", 25)
EMAIL_HOST_USER = env("SOAR_SMTP_USER", "")
EMAIL_HOST_PASSWORD = env("SOAR_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("SOAR_SMTP_TLS", False)
EMAIL_TIMEOUT = env_int("SOAR_SMTP_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("SOAR_MAIL_FROM", "soar@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- reporting and /metrics (reporting) -------------------------------------------
# /metrics answers clients in these CIDRs, or any client sending "Authorization: Bearer <token>".
# Both empty (the default): /metrics answers 403 to everyone. No loopback default: behind a
# reverse proxy on the same host every client would come from 127.0.0.1.
SOAR_METRICS_ALLOWLIST = env_list("SOAR_METRICS_ALLOWLIST", "")
# Empty: token authentication is off (allowlist only).
SOAR_METRICS_TOKEN = env("SOAR_METRICS_TOKEN", "")
# Scheduled report e-mails attach the range's cases as CSV, at most this many rows.
SOAR_REPORT_MAX_CSV_ROWS = env_int("SOAR_REPORT_MAX_CSV_ROWS", 10000)
# Dashboard and summary API figures are kept this long per viewer and range (0: never cached).
SOAR_REPORT_CACHE_SECONDS = env_int("SOAR_REPORT_CACHE_SECONDS", 60)
# PostgreSQL: read the dashboard's alert figures from the trigger-maintained sums (0: count the
# alerts on every view, as on SQLite); pending deltas are folded into the sums this often.
SOAR_REPORT_ROLLUPS = env_bool("SOAR_REPORT_ROLLUPS", True)
SOAR_REPORT_ROLLUP_FOLD_SECONDS = float(env("SOAR_REPORT_ROLLUP_FOLD_SECONDS", 60))
CELERY_BEAT_SCHEDULE["fold-report-rollups"] = {
    "task": "reporting.tasks.fold_report_rollups",
    "schedule": SOAR_REPORT_ROLLUP_FOLD_SECONDS,
}
# Public base URL of the web UI, for links in e-mails (empty: no link).
SOAR_BASE_URL = env("SOAR_BASE_URL", "")
# Prometheus scrapes plain HTTP inside the compose network: never redirect /metrics to https.
SECURE_REDIRECT_EXEMPT = [*globals().get("SECURE_REDIRECT_EXEMPT", []), r"^metrics$", r"^healthz$"]

# --- playbooks (playbooks app) -------------------------------------------------------------
# A run whose heartbeat is older than this is considered abandoned by its worker (killed) and
# is re-queued by the stale-run sweep; a step keeps its heartbeat fresh while it executes.
SOAR_PLAYBOOK_HEARTBEAT_TIMEOUT_SECONDS = float(env("SOAR_PLAYBOOK_HEARTBEAT_TIMEOUT_SECONDS", 300))
SOAR_PLAYBOOK_SWEEP_INTERVAL_SECONDS = float(env("SOAR_PLAYBOOK_SWEEP_INTERVAL_SECONDS", 30))
# Retries of a step after a transient failure (timeout, 429, 5xx), with exponential backoff
# base * 2^(attempt-1) capped at the maximum; a step may set its own `retries`.
SOAR_PLAYBOOK_MAX_RETRIES = env_int("SOAR_PLAYBOOK_MAX_RETRIES", 3)
SOAR_PLAYBOOK_RETRY_BACKOFF_SECONDS = float(env("SOAR_PLAYBOOK_RETRY_BACKOFF_SECONDS", 2))
SOAR_PLAYBOOK_RETRY_BACKOFF_MAX_SECONDS = float(env("SOAR_PLAYBOOK_RETRY_BACKOFF_MAX_SECONDS", 300))
# Approval requests of destructive steps: default approver group and lifetime.
SOAR_PLAYBOOK_DEFAULT_APPROVER_GROUP = env("SOAR_PLAYBOOK_DEFAULT_APPROVER_GROUP", "lead")
SOAR_PLAYBOOK_APPROVAL_TTL_MINUTES = env_int("SOAR_PLAYBOOK_APPROVAL_TTL_MINUTES", 240)
SOAR_PLAYBOOK_APPROVAL_EXPIRY_INTERVAL_SECONDS = float(env("SOAR_PLAYBOOK_APPROVAL_EXPIRY_INTERVAL_SECONDS", 60))
# Blocklist feeds (/playbooks/feeds/<list>.txt|.json): one token for every list, and/or
# per-list tokens as "list:token,list2:token2". No token configured: the feeds answer 404.
SOAR_BLOCKLIST_FEED_TOKEN = env("SOAR_BLOCKLIST_FEED_TOKEN", "")
SOAR_BLOCKLIST_FEED_TOKENS = dict(
    item.split(":", 1) for item in env_list("SOAR_BLOCKLIST_FEED_TOKENS", "") if ":" in item
)
CELERY_BEAT_SCHEDULE.update({
    "playbooks-resume-stale-runs": {
        "task": "playbooks.tasks.resume_stale_runs",
        "schedule": SOAR_PLAYBOOK_SWEEP_INTERVAL_SECONDS,
    },
    "playbooks-sweep-triggers": {
        "task": "playbooks.tasks.sweep_playbook_triggers",
        "schedule": SOAR_FOLLOW_UP_SWEEP_INTERVAL_SECONDS,
    },
    "playbooks-expire-approvals": {
        "task": "playbooks.tasks.expire_approvals",
        "schedule": SOAR_PLAYBOOK_APPROVAL_EXPIRY_INTERVAL_SECONDS,
    },
})

# --- live pages: how often a page's live regions re-fetch themselves (static/js/live.js) -----
SOAR_LIVE_POLL_SECONDS = max(1, env_int("SOAR_LIVE_POLL_SECONDS", 15))

# --- pull connectors (connectors app) -----------------------------------------------------
# Connectors that are due are run this often (each keeps its own interval and back-off); in the
# embedded mode the embedded beat (soar/embedded_beat.py) runs the same sweep.
SOAR_CONNECTOR_SWEEP_SECONDS = 10.0
CELERY_BEAT_SCHEDULE["run-due-pull-connectors"] = {
    "task": "connectors.tasks.run_due_connectors",
    "schedule": SOAR_CONNECTOR_SWEEP_SECONDS,
}

# --- security hardening (security engineer; see docs/security.md) -------------------------
# Swagger UI's files come from the drf-spectacular-sidecar package, served by WhiteNoise: no CDN.
INSTALLED_APPS += ["drf_spectacular_sidecar"]
SPECTACULAR_SETTINGS.update({
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The default validator badge is an image from a third-party site.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
})
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "soar.security.ContentSecurityPolicyMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("soar.middleware.RequestIdMiddleware") + 1, "soar.security.RejectNulInUrlMiddleware")
# Content-Security-Policy: on by default in production only; SOAR_CSP_ENABLED=1 turns it on anywhere.
SOAR_CSP_ENABLED = env_bool("SOAR_CSP_ENABLED", PRODUCTION)
SOAR_CSP_REPORT_ONLY = env_bool("SOAR_CSP_REPORT_ONLY", False)
_CSP_BASE = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
             "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SOAR_CSP = env("SOAR_CSP", _CSP_BASE)
# Swagger UI's stylesheet draws its icons with data: URIs.
SOAR_CSP_API_DOCS = env("SOAR_CSP_API_DOCS", _CSP_BASE.replace("img-src 'self'", "img-src 'self' data:"))
SOAR_PERMISSIONS_POLICY = env("SOAR_PERMISSIONS_POLICY",
                              "camera=(), microphone=(), geolocation=(), payment=(), usb=()")

# Log-in throttling (soar/security.py): failures per (client address, username) pair lock that
# pair for SOAR_LOGIN_LOCKOUT_SECONDS, doubling at each further failure up to
# SOAR_LOGIN_LOCKOUT_MAX_SECONDS; failures per client address (REMOTE_ADDR, any username) lock
# the address for SOAR_LOGIN_LOCKOUT_SECONDS. Refused attempts answer HTTP 429. 0 switches a
# counter off. Several web processes share the counters only through SOAR_CACHE_URL.
AUTHENTICATION_BACKENDS.insert(0, "soar.security.LoginThrottleBackend")
SOAR_LOGIN_MAX_FAILURES = env_int("SOAR_LOGIN_MAX_FAILURES", 5)
# Higher: analysts behind one NAT share an address.
SOAR_LOGIN_MAX_FAILURES_PER_IP = env_int("SOAR_LOGIN_MAX_FAILURES_PER_IP", 20)
SOAR_LOGIN_LOCKOUT_SECONDS = env_int("SOAR_LOGIN_LOCKOUT_SECONDS", 300)
SOAR_LOGIN_LOCKOUT_MAX_SECONDS = env_int("SOAR_LOGIN_LOCKOUT_MAX_SECONDS", 3600)
# Wrong bearer tokens (webhook and user API) per client address before it gets HTTP 429 for
# SOAR_TOKEN_LOCKOUT_SECONDS (0 switches it off).
SOAR_TOKEN_MAX_FAILURES_PER_IP = env_int("SOAR_TOKEN_MAX_FAILURES_PER_IP", 20)
SOAR_TOKEN_LOCKOUT_SECONDS = env_int("SOAR_TOKEN_LOCKOUT_SECONDS", 300)
# User API tokens (DRF "Authorization: Token <key>") are stored hashed and expire this many days
# after they are issued; an expired token is refused with 401 (cases.models.ApiToken).
SOAR_API_TOKEN_TTL_DAYS = env_int("SOAR_API_TOKEN_TTL_DAYS", 90)
if SOAR_API_TOKEN_TTL_DAYS < 1:
    raise RuntimeError("SOAR_API_TOKEN_TTL_DAYS must be at least 1.")

# --- single sign-on and second factor (cases/sso.py, cases/totp.py; docs/admin-guide.md) ----------
def env_map(name: str, default: str = "") -> dict[str, str]:
    """"key:value,key2:value2" -> {key: value}; keys lower-cased (directory group names)."""
    pairs = (item.rsplit(":", 1) for item in env_list(name, default) if ":" in item)
    return {key.strip().lower(): value.strip() for key, value in pairs if key.strip() and value.strip()}


# Local (username + password in this database) log-in. Off: only SSO (OIDC, LDAP) logs in, except
# the break-glass accounts named here (local, with a strong password and TOTP), for when the
# directory is down.
SOAR_LOCAL_LOGIN = env_bool("SOAR_LOCAL_LOGIN", True)
SOAR_BREAK_GLASS_USERS = [name.lower() for name in env_list("SOAR_BREAK_GLASS_USERS", "")]
# Directory groups (LDAP group cn or DN, OIDC "groups" claim values; case-insensitive) -> Mini-SOAR
# role ("admin", "lead", "analyst", "auditor") and -> team slug. Applied at every SSO log-in: the
# roles of an SSO account and its membership of the mapped teams follow the directory.
SOAR_SSO_ROLE_MAP = env_map("SOAR_SSO_ROLE_MAP", "")
SOAR_SSO_TEAM_MAP = env_map("SOAR_SSO_TEAM_MAP", "")
# A directory user in no mapped role group is refused (no account is made); 0 lets them in with no role.
SOAR_SSO_REQUIRE_ROLE = env_bool("SOAR_SSO_REQUIRE_ROLE", True)

# OpenID Connect (authorization code + PKCE, mozilla-django-oidc): on when a client id is set.
SOAR_OIDC_ENABLED = bool(env("SOAR_OIDC_CLIENT_ID", ""))
SOAR_OIDC_LABEL = env("SOAR_OIDC_LABEL", "Log in with single sign-on")
SOAR_OIDC_USERNAME_CLAIM = env("SOAR_OIDC_USERNAME_CLAIM", "preferred_username")
SOAR_OIDC_GROUPS_CLAIM = env("SOAR_OIDC_GROUPS_CLAIM", "groups")
OIDC_RP_CLIENT_ID = env("SOAR_OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env("SOAR_OIDC_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("SOAR_OIDC_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env("SOAR_OIDC_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env("SOAR_OIDC_USERINFO_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env("SOAR_OIDC_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = env("SOAR_OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env("SOAR_OIDC_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_AUTHENTICATION_CALLBACK_URL = "cases:oidc-callback"
OIDC_CREATE_USER = True
OIDC_TIMEOUT = env_int("SOAR_OIDC_TIMEOUT_SECONDS", 10)
LOGIN_REDIRECT_URL_FAILURE = "/login/?sso=failed"
if SOAR_OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.insert(-1, "cases.sso.OidcBackend")

# LDAP / Active Directory log-in (django-python3-ldap, on ldap3): on when a URL is set. ldap://
# without StartTLS sends passwords in clear: refused unless SOAR_LDAP_ALLOW_PLAINTEXT=1 (above).
SOAR_LDAP_LOGIN_URL = env("SOAR_LDAP_LOGIN_URL", "")
SOAR_LDAP_LOGIN_ENABLED = bool(SOAR_LDAP_LOGIN_URL)
# "openldap" (bind as <username attr>=<name>,<search base>) or "active_directory" (bind as
# name@SOAR_LDAP_LOGIN_AD_DOMAIN, user attribute sAMAccountName).
SOAR_LDAP_LOGIN_DIRECTORY = env("SOAR_LDAP_LOGIN_DIRECTORY", "openldap")
if SOAR_LDAP_LOGIN_DIRECTORY not in ("openldap", "active_directory"):
    raise ImproperlyConfigured("SOAR_LDAP_LOGIN_DIRECTORY must be 'openldap' or 'active_directory'.")
_AD = SOAR_LDAP_LOGIN_DIRECTORY == "active_directory"
SOAR_LDAP_LOGIN_GROUP_SEARCH_BASE = env("SOAR_LDAP_LOGIN_GROUP_SEARCH_BASE", "")
# {dn} is the user's DN (escaped). Active Directory's nested groups:
# (member:1.2.840.113556.1.4.1941:={dn}).
SOAR_LDAP_LOGIN_GROUP_FILTER = env("SOAR_LDAP_LOGIN_GROUP_FILTER", "(member={dn})")
LDAP_AUTH_URL = [SOAR_LDAP_LOGIN_URL] if SOAR_LDAP_LOGIN_URL else []
LDAP_AUTH_USE_TLS = env_bool("SOAR_LDAP_LOGIN_START_TLS", False)
LDAP_AUTH_SEARCH_BASE = env("SOAR_LDAP_LOGIN_SEARCH_BASE", "")
LDAP_AUTH_OBJECT_CLASS = env("SOAR_LDAP_LOGIN_USER_OBJECT_CLASS", "user" if _AD else "inetOrgPerson")
LDAP_AUTH_USER_FIELDS = {"username": env("SOAR_LDAP_LOGIN_USERNAME_ATTR", "sAMAccountName" if _AD else "uid"),
                         "first_name": "givenName", "last_name": "sn", "email": "mail"}
LDAP_AUTH_USER_LOOKUP_FIELDS = ("username",)
LDAP_AUTH_FORMAT_USERNAME = ("django_python3_ldap.utils.format_username_active_directory_principal" if _AD
                             else "django_python3_ldap.utils.format_username_openldap")
LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN = env("SOAR_LDAP_LOGIN_AD_DOMAIN", "")
LDAP_AUTH_SYNC_USER_RELATIONS = "cases.sso.sync_ldap_user"
LDAP_AUTH_CONNECT_TIMEOUT = env_int("SOAR_LDAP_LOGIN_TIMEOUT_SECONDS", 5)
LDAP_AUTH_RECEIVE_TIMEOUT = LDAP_AUTH_CONNECT_TIMEOUT
if SOAR_LDAP_LOGIN_ENABLED:
    AUTHENTICATION_BACKENDS.insert(-1, "cases.sso.LdapBackend")

# TOTP second factor of local accounts (django-otp): each user may enable it on /me/totp; with
# this on, staff and admins must (they are sent to /me/totp until they have).
SOAR_TOTP_REQUIRED_FOR_STAFF = env_bool("SOAR_TOTP_REQUIRED_FOR_STAFF", False)
OTP_TOTP_ISSUER = env("SOAR_TOTP_ISSUER", "Mini-SOAR")

if PRODUCTION:
    # Placeholders from docker-compose.yml or the dev default must never reach production.
    for _name, _value in [("SOAR_SECRET_KEY", SECRET_KEY), ("SOAR_METRICS_TOKEN", SOAR_METRICS_TOKEN),
                          ("SOAR_BLOCKLIST_FEED_TOKEN", SOAR_BLOCKLIST_FEED_TOKEN)]:
        if _value and ("change-me" in _value or "insecure" in _value):
            raise RuntimeError(f"{_name} is a placeholder; set a random value when SOAR_ENV=production")
    if len(SECRET_KEY) < 50:
        raise RuntimeError("SOAR_SECRET_KEY must be at least 50 random characters when SOAR_ENV=production")
