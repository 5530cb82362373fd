"""Environment helpers that fail loudly: a bad value is one clear line, never a silent default."""

from __future__ import annotations

import math
import os

from django.core.exceptions import ImproperlyConfigured

# The built-in development key: public (it is in this repository), so DEBUG off refuses it.
DEV_SECRET_KEY = "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"


def env_str(name: str, default: str = "") -> str:
    """Return the variable's value, or `default` when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return the variable as an int; raise ImproperlyConfigured naming it when it is not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {value}")
    return value


def env_float(
    name: str, default: float, *, positive: bool = False, maximum: float | None = None
) -> float:
    """Return the variable as a float; raise ImproperlyConfigured naming it when it is not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {raw!r}")
    if positive and not value > 0:
        raise ImproperlyConfigured(f"{name} must be greater than 0, got {raw!r}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum:g}, got {raw!r}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """Return the variable, upper-cased, when it is one of `choices`; else raise naming it."""
    raw = os.environ.get(name, "").strip().upper()
    if not raw:
        return default
    if raw not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def database_from_url(name: str, default: str, *, conn_max_age: int) -> dict:
    """Parse a database URL (dj-database-url); raise ImproperlyConfigured naming the variable."""
    import dj_database_url

    raw = os.environ.get(name, "").strip() or default
    try:
        return dj_database_url.parse(raw, conn_max_age=conn_max_age)
    except Exception as exc:  # UnknownSchemeError, ValueError: both mean a malformed URL
        # The URL may carry a password: name the variable and the scheme only.
        scheme = raw.split("://", 1)[0] if "://" in raw else "no scheme"
        raise ImproperlyConfigured(
            f"{name} is not a usable database URL ({scheme}): {type(exc).__name__}; "
            "expected e.g. postgres://user@host:5432/name"
        ) from None


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a bool (1/0, true/false, yes/no, on/off)."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_list(name: str) -> list[str]:
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
