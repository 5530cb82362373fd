"""Django settings for prharvest.

Every setting comes from the environment (see the README's table); the defaults are the
embedded, zero-set-up ones: SQLite, Celery in eager mode, GitHub at api.github.com.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    DEV_SECRET_KEY,
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# A public development key only: production sets DJANGO_SECRET_KEY; with DEBUG off a server
# refuses to start on it and `check --deploy` reports it (config/errors.py, config/checks.py).
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
# Off unless asked for (`make serve` asks): a debug page shows code, settings and queries.
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS") or [
    "localhost",
    "127.0.0.1",
    "[::1]",
    "testserver",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "apps.integrations",
    "apps.metrics",
    "apps.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

WSGI_APPLICATION = "config.wsgi.application"

# SQLite by default; DATABASE_URL (e.g. postgres://root@127.0.0.1:5432/test) for PostgreSQL.
DATABASES = {
    "default": database_from_url(
        "DATABASE_URL",
        f"sqlite:///{env_str('SQLITE_PATH', str(BASE_DIR / 'db.sqlite3'))}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0),
    )
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout: a dashboard can read while a seed writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Writers take the lock when their transaction starts, so a second writer waits
            # (up to `timeout`) instead of failing with "database is locked" on upgrade.
            "transaction_mode": "IMMEDIATE",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# --- Production safety (README "Production settings"; `manage.py check --deploy`) ---------
# Error pages and reports hide secrets: URL passwords (DATABASE_URL, broker, Redis) included.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.errors.SafeReporterFilter"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", False)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    # The proxy terminates TLS and says so in X-Forwarded-Proto (it must strip the client's).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # httpx logs every request at INFO: a worker at --loglevel INFO says what it synced instead.
    "loggers": {"httpx": {"level": "WARNING"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice(
            "LOG_LEVEL", "WARNING", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        ),
    },
}

# --- GitHub -------------------------------------------------------------------------------
GITHUB_API_URL = env_str("GITHUB_API_URL", "https://api.github.com").rstrip("/")
# Empty: derived from GITHUB_API_URL (.../api/v3 -> .../api/graphql, else + /graphql).
GITHUB_GRAPHQL_URL = env_str("GITHUB_GRAPHQL_URL").rstrip("/")
GITHUB_TOKEN = env_str("GITHUB_TOKEN")
GITHUB_SEEDING_TOKENS = env_list("GITHUB_SEEDING_TOKENS")
GITHUB_TIMEOUT_SECONDS = env_float("GITHUB_TIMEOUT_SECONDS", 60.0, positive=True, maximum=3600)
# PRs a page at most, 1-100 (GitHub's `first` limit); 0: the fetcher's MAX_PAGE_SIZE. Heavy
# repositories shrink below it by themselves (the page-size search), each remembering its size.
GITHUB_MAX_PAGE_SIZE = env_int("GITHUB_MAX_PAGE_SIZE", 0, minimum=0)
if GITHUB_MAX_PAGE_SIZE > 100:
    raise ImproperlyConfigured(
        f"GITHUB_MAX_PAGE_SIZE must be at most 100, got {GITHUB_MAX_PAGE_SIZE}"
    )
GITHUB_WEBHOOK_SECRET = env_str("GITHUB_WEBHOOK_SECRET")
GITHUB_APP_ID = env_str("GITHUB_APP_ID")
GITHUB_APP_PRIVATE_KEY_PATH = env_str("GITHUB_APP_PRIVATE_KEY_PATH")
GITHUB_APP_INSTALLATION_ID = env_str("GITHUB_APP_INSTALLATION_ID")
SEEDING_CACHE_DIR = Path(env_str("SEEDING_CACHE_DIR", str(BASE_DIR / ".seeding_cache")))

# --- Celery -------------------------------------------------------------------------------
# No broker configured: tasks run eagerly in-process (the embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Redis for cross-process coordination (per-token lock, shared budget); defaults to the broker.
REDIS_URL = env_str("REDIS_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
SYNC_INTERVAL_SECONDS = env_int("SYNC_INTERVAL_SECONDS", 900, minimum=10, maximum=30 * 86400)
# A sync round asks about its repositories several to a GraphQL query (apps/metrics/
# sync/round.py); False: each repository alone (a REST probe, then its own pages).
SYNC_BATCH = env_bool("SYNC_BATCH", True)
