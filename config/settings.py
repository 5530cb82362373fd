"""Django settings for prharvest.

Every setting comes from the environment (see the README's table); the defaults are the
embedded, zero-set-up ones: SQLite, Celery in eager mode, GitHub at api.github.com.
"""

from __future__ import annotations

from pathlib import Path

from config.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# A development key only: production sets DJANGO_SECRET_KEY.
SECRET_KEY = env_str(
    "DJANGO_SECRET_KEY", "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"
)
DEBUG = env_bool("DJANGO_DEBUG", True)
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice(
            "LOG_LEVEL", "WARNING", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        ),
    },
}

# --- GitHub -------------------------------------------------------------------------------
GITHUB_API_URL = env_str("GITHUB_API_URL", "https://api.github.com").rstrip("/")
GITHUB_TOKEN = env_str("GITHUB_TOKEN")
GITHUB_SEEDING_TOKENS = env_list("GITHUB_SEEDING_TOKENS")
GITHUB_TIMEOUT_SECONDS = env_float("GITHUB_TIMEOUT_SECONDS", 60.0, positive=True)
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
SYNC_INTERVAL_SECONDS = env_int("SYNC_INTERVAL_SECONDS", 900, minimum=10)
# A sync round asks about its repositories several to a GraphQL query (apps/metrics/
# sync_round.py); False: each repository alone (a REST probe, then its own pages).
SYNC_BATCH = env_bool("SYNC_BATCH", True)
