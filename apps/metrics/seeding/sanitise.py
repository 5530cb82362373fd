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


def sanitise(value: _T, warnings: list[str] | None = None, *, path: str = "") -> _T:
    """`value` (a fetched dataclass, or any nesting of them, str, list, tuple, dict) made
    storable (see the module docstring); what was changed is appended to `warnings`."""
    return _clean(value, path, warnings if warnings is not None else [], None)


def _clean(value: Any, path: str, warnings: list[str], name: str | None) -> Any:
    if isinstance(value, str):
        limit = KEY_LIMITS.get(name or "", MAX_TEXT)
        cleaned = clean_text(value, limit)
        is_url = name is not None and (name == "url" or name.endswith("_url"))
        if is_url and cleaned and not is_web_url(cleaned):
            warnings.append(f"{path}: not an http(s) URL, dropped")
            return ""
        if cleaned != value:
            done = []
            if _UNSAFE.search(value):
                done.append("control characters or lone surrogates removed")
            if len(cleaned) == limit and len(value) > limit:
                done.append(f"cut to {limit} characters")
            warnings.append(f"{path}: {', '.join(done)}")
        return cleaned
    if is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        for f in fields(value):
            old = getattr(value, f.name)
            new = _clean(old, f"{path}.{f.name}" if path else f.name, warnings, f.name)
            if new is not old:
                changes[f.name] = new
        return replace(value, **changes) if changes else value
    if isinstance(value, tuple | list):
        items = [_clean(item, f"{path}[{i}]", warnings, name) for i, item in enumerate(value)]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, dict):
        out = {
            _clean(k, f"{path}.key", warnings, None): _clean(v, f"{path}.{k}", warnings, str(k))
            for k, v in value.items()
        }
        return out
    return value


# What mapping a malformed node can raise (a missing number, a date that is not one, a year out
# of range): that node is reported and left out, the rest of its page is kept.
MAPPING_ERRORS = (KeyError, ValueError, TypeError, OverflowError, AttributeError)


def map_pr_node(node: Any, repo: str | None = None) -> Any:
    """`FetchedPRFull.from_api(node, repo)`, or None (logged) when the node cannot be mapped."""
    from apps.metrics.seeding.fetched import FetchedPRFull

    try:
        return FetchedPRFull.from_api(node, repo_full_name=repo)
    except MAPPING_ERRORS as exc:
        number = node.get("number") if isinstance(node, dict) else None
        reason = clean_text(f"{type(exc).__name__}: {exc}".splitlines()[0], 300)
        logger.warning("%s#%s: not stored, GitHub sent a malformed node: %s", repo, number, reason)
        return None
