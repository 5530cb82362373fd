"""Failures as one line, secrets never shown: the process boundary of every command and page.

- `one_line(exc)`: a command's failure because the database, Redis or the Celery broker is
  down, or a setting is wrong, as one line naming what to check (manage.py prints it and exits
  non-zero instead of a traceback). Passwords in URLs are masked.
- `SafeReporterFilter`: Django's error reporter filter (the DEBUG 500 page, error e-mails) that
  also masks the password of every URL it shows (`DATABASE_URL` in the environment runserver
  passes as request.META, `CELERY_BROKER_URL`, `REDIS_URL`...), on top of Django's hidden
  settings (KEY, TOKEN, SECRET, PASS...).
- `insecure_server_reason()`: why a server must not start (the public development key while
  DEBUG is off).
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

from config.env import DEV_SECRET_KEY

# scheme://user:password@host -> scheme://user:***@host (the password is all that is hidden).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(?=@)")


# libpq's "key=value" connection strings (psycopg's conninfo): password=... / password='...'.
_KEYWORD_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every `scheme://user:password@` (and libpq's
    `password=...`) in it replaced by ***."""
    text = _URL_PASSWORD.sub(r"\g<head>***", text)
    return _KEYWORD_PASSWORD.sub(r"\g<head>***", text)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return mask_url_passwords(lines[0] if lines else type(exc).__name__)


def one_line(exc: BaseException) -> str | None:
    """The one line for an infrastructure or configuration failure; None for anything else."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    if isinstance(exc, ImproperlyConfigured):
        return f"configuration error: {_first_line(exc)}"
    if isinstance(exc, DatabaseError):
        return (
            f"database error ({_first_line(exc)}); check DATABASE_URL / SQLITE_PATH, that the "
            "database is reachable and migrated (manage.py migrate)"
        )
    try:
        import redis
    except ImportError:  # pragma: no cover - a pinned dependency
        redis = None  # type: ignore[assignment]
    if redis is not None and isinstance(exc, redis.RedisError):
        return f"Redis unavailable ({_first_line(exc)}); check REDIS_URL (default: CELERY_BROKER_URL) and that Redis runs"
    try:
        from kombu.exceptions import OperationalError as BrokerError
    except ImportError:  # pragma: no cover - a pinned dependency
        return None
    if isinstance(exc, BrokerError):
        return (
            f"Celery broker unavailable ({_first_line(exc)}); check CELERY_BROKER_URL and that "
            "the broker runs"
        )
    return None


class SafeReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: the URL settings hidden whole, the passwords of URLs anywhere in
    settings, request.META and the traceback's local variables masked, and those variables
    cleansed by name like settings (a `conn_params` dict's "password" is hidden)."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE_URL|BROKER_URL|REDIS_URL|"
        "RESULT_BACKEND",
        flags=re.IGNORECASE,
    )

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (name, self.cleanse_setting(name, value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        value = super().cleanse_setting(key, value)
        if isinstance(value, str):
            return mask_url_passwords(value)
        return value


def insecure_server_reason(settings: Any) -> str | None:
    """Why a web server must not start with these settings (None: it may)."""
    if not settings.DEBUG and settings.SECRET_KEY == DEV_SECRET_KEY:
        return (
            "refusing to serve with the public development SECRET_KEY while DEBUG is off: set "
            "DJANGO_SECRET_KEY (or DJANGO_DEBUG=true on your own machine)"
        )
    return None
