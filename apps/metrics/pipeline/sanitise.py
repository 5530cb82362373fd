"""Hostile text from GitHub made storable, once, for every field of a fetched value.

GitHub's data is user input: titles, bodies, label names, logins, commit messages and check
names can hold NUL and other control characters, lone UTF-16 surrogates (a JSON `"\\ud800"`
decodes to one), very long strings, HTML, template syntax and odd URLs. PostgreSQL refuses NUL
in text and in JSON (`jsonb`), both databases' drivers refuse a lone surrogate, and a
`javascript:` URL in a link runs script. `sanitise()` walks a fetched dataclass generically,
every field, nested values, tuples and JSON-like lists/dicts included, so a field added later is
covered without being listed here:

- NUL and the other C0 control characters except tab, newline and carriage return, and DEL,
  are removed; a lone surrogate becomes U+FFFD;
- every string is cut to MAX_TEXT characters; strings that are keys elsewhere (a login is the
  key of its member row, a varchar(255)) are cut to theirs here, so every reference to them
  stays consistent after the cut;
- a URL field (`url`, `*_url`) that is not an absolute http(s) URL is rejected: it becomes "",
  with a warning.

HTML and template syntax are kept as text: templates escape it when it is shown. Each change is
reported once per field in `warnings`, so the caller can log which PR had which hostile field.
"""

from __future__ import annotations

import logging
import re
from dataclasses import fields, is_dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

# No text column or JSON value needs more: GitHub caps a PR body at 65,536 characters.
MAX_TEXT = 262_144
# Strings that are keys of rows elsewhere, cut to the key column's width (see the docstring).
KEY_LIMITS: dict[str, int] = {"login": 255}

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

_T = TypeVar("_T")

logger = logging.getLogger(__name__)


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """`value` without control characters (lone surrogates as U+FFFD), at most `limit` long."""
    if _UNSAFE.search(value):
        value = _UNSAFE.sub(_replacement, value)
    return value[:limit] if len(value) > limit else value


def _replacement(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else ""


def is_web_url(value: str) -> bool:
    """True for an absolute http(s) URL with a host: the only links we render."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def sanitise(value: _T, warnings: list[str] | None = None) -> _T:
    """`value` (a fetched dataclass, or any nesting of them, str, list, tuple, dict) made
    storable (see the module docstring); what was changed is appended to `warnings`.

    Unchanged parts are returned as they are (the same objects): a clean PR costs one regex
    scan per string and no allocation.
    """
    return _clean(value, (), warnings if warnings is not None else [], "")


# Values with nothing to clean inside.
_LEAVES = frozenset({int, float, bool, type(None), datetime})
# Field names of each dataclass seen, so the walk does not call dataclasses.fields() per value.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _where(path: tuple[str, ...], name: str) -> str:
    return ".".join((*path, name)) if name else ".".join(path)


def _clean(value: Any, path: tuple[str, ...], warnings: list[str], name: str) -> Any:
    kind = type(value)
    if kind is str:
        return _clean_str(value, path, warnings, name)
    if kind in _LEAVES:
        return value
    names = _FIELD_NAMES.get(kind, _UNKNOWN)
    if names is _UNKNOWN:
        names = _FIELD_NAMES[kind] = (
            tuple(f.name for f in fields(kind)) if is_dataclass(kind) else None
        )
    if names is not None:
        inner = (*path, name) if name else path
        changes: dict[str, Any] = {}
        for field_name in names:
            old = getattr(value, field_name)
            old_kind = type(old)
            if old_kind in _LEAVES:
                continue
            if old_kind is str and _is_plain(old, field_name):
                continue  # the common case, without a call
            new = _clean(old, inner, warnings, field_name)
            if new is not old:
                changes[field_name] = new
        return replace(value, **changes) if changes else value
    if kind is tuple or kind is list:
        items = None
        for index, item in enumerate(value):
            if type(item) is str and _is_plain(item, name):
                continue
            new = _clean(item, path, warnings, name)
            if new is not item:
                if items is None:
                    items = list(value)
                items[index] = new
        return value if items is None else kind(items)
    if kind is dict:
        inner = (*path, name) if name else path
        return {
            _clean(k, inner, warnings, "") if type(k) is str else k: _clean(
                v, inner, warnings, str(k)
            )
            for k, v in value.items()
        }
    return value


_UNKNOWN: Any = object()


def _is_url_name(name: str) -> bool:
    return name == "url" or name.endswith("_url")


def _is_plain(value: str, name: str) -> bool:
    """True when `value` needs nothing: short enough, nothing unsafe, not a URL field."""
    return (
        len(value) <= MAX_TEXT
        and name not in KEY_LIMITS
        and not _is_url_name(name)
        and _UNSAFE.search(value) is None
    )


def _clean_str(value: str, path: tuple[str, ...], warnings: list[str], name: str) -> str:
    limit = KEY_LIMITS.get(name, MAX_TEXT)
    unsafe = _UNSAFE.search(value) is not None
    value_clean = _UNSAFE.sub(_replacement, value) if unsafe else value
    cut = len(value_clean) > limit
    if cut:
        value_clean = value_clean[:limit]
    if _is_url_name(name) and value_clean and not is_web_url(value_clean):
        warnings.append(f"{_where(path, name)}: not an http(s) URL, dropped")
        return ""
    if unsafe or cut:
        done = []
        if unsafe:
            done.append("control characters or lone surrogates removed")
        if cut:
            done.append(f"cut to {limit} characters")
        warnings.append(f"{_where(path, name)}: {', '.join(done)}")
        return value_clean
    return value


# What mapping a malformed node can raise (a missing number, a date that is not one, a year out
# of range): that node is reported and left out, the rest of its page is kept.
MAPPING_ERRORS = (KeyError, ValueError, TypeError, OverflowError, AttributeError)


def map_pr_node(node: Any, repo: str | None = None) -> Any:
    """`FetchedPRFull.from_api(node, repo)`, or None (logged) when the node cannot be mapped."""
    from apps.metrics.pipeline.fetched import FetchedPRFull

    try:
        pr = FetchedPRFull.from_api(node, repo_full_name=repo)
    except MAPPING_ERRORS as exc:
        number = node.get("number") if isinstance(node, dict) else None
        reason = clean_text(f"{type(exc).__name__}: {exc}".splitlines()[0], 300)
        logger.warning("%s#%s: not stored, GitHub sent a malformed node: %s", repo, number, reason)
        return None
    return pr  # the writer sanitises it (one pass, for every way a PR reaches it)


def sanitise_logged(pr: Any) -> Any:
    """`sanitise(pr)` with each change logged once as "owner/name#N: field: what"."""
    warnings: list[str] = []
    clean = sanitise(pr, warnings)
    for warning in warnings:
        logger.warning("%s#%s: %s", clean.repo_full_name, clean.number, warning)
    return clean
