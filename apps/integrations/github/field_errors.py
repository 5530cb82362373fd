"""Permanent field errors: GitHub refusing one field of a PR node, every time, for this token.

A GitHub App installation without a permission (or a PAT without a scope) gets HTTP 200 with
the rest of the data and, for the field it may not read, `null` plus an error of type
`FORBIDDEN` ("Resource not accessible by integration") or `INSUFFICIENT_SCOPES` whose `path`
names the field (the GraphQL spec, section 7.1.2 "Errors": a field error nulls the field and is
listed with its path; docs.github.com, "Choosing permissions for a GitHub App": GraphQL access
follows the App's permissions; GitHub does not document its error types, github/docs#11071). No retry
changes that answer, so such a field is not re-fetched: the node is kept without it, the field
name is added to the node under `UNAVAILABLE_KEY`, and the data it would have given is unknown.
Any other error on a node (timeouts, "Something went wrong") stays transient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "PERMANENT_FIELD_TYPES",
    "UNAVAILABLE_KEY",
    "mark_unavailable",
    "permission_for",
    "split_field_errors",
]

# The node key the client adds to a PR node: the PullRequest fields GitHub refused.
UNAVAILABLE_KEY = "_unavailable_fields"

PERMANENT_FIELD_TYPES = frozenset({"FORBIDDEN", "INSUFFICIENT_SCOPES"})

# What to grant for each PullRequest field we read, named as GitHub names App / fine-grained
# permissions and classic PAT scopes (docs.github.com: rest/authentication/permissions-required-
# for-github-apps, .../permissions-required-for-fine-grained-personal-access-tokens,
# apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps).
_PERMISSIONS = {
    "statusCheckRollup": "Checks: read and Commit statuses: read (classic PAT: repo)",
    "closingIssuesReferences": "Issues: read (classic PAT: repo)",
    "reviewRequests": "Members: read, an organization permission (classic PAT: read:org)",
    "commits": "Pull requests: read and Contents: read (classic PAT: repo)",
}
_DEFAULT_PERMISSION = "Pull requests: read (classic PAT: repo, or public_repo for public ones)"


def permission_for(field: str) -> str:
    """The permission (and classic scope) to grant so GitHub answers `field`."""
    return _PERMISSIONS.get(field, _DEFAULT_PERMISSION)


def _is_permanent(error: Mapping[str, Any]) -> bool:
    return error.get("type") in PERMANENT_FIELD_TYPES


def split_field_errors(
    errors: Iterable[Mapping[str, Any]], prefix: Sequence[Any]
) -> tuple[dict[Any, set[str]], list[Mapping[str, Any]]]:
    """({node index or key: {refused field}}, the other errors) for errors at `prefix`.

    With `prefix` ending in a list (`("repository", "pullRequests", "nodes")`) a permanent error
    at `prefix + [i, field, ...]` refuses `field` of node `i`; with `prefix` naming one node
    (`("repository", "pullRequest")`) an error at `prefix + [field, ...]` is keyed by None.
    """
    refused: dict[Any, set[str]] = {}
    others: list[Mapping[str, Any]] = []
    depth = len(prefix)
    for error in errors:
        path = list(error.get("path") or [])
        if not _is_permanent(error) or path[:depth] != list(prefix):
            others.append(error)
            continue
        rest = path[depth:]
        if rest and isinstance(rest[0], int) and len(rest) >= 2 and isinstance(rest[1], str):
            refused.setdefault(rest[0], set()).add(rest[1])
        elif rest and isinstance(rest[0], str):
            refused.setdefault(None, set()).add(rest[0])
        else:
            others.append(error)  # the node itself refused: not a field of it
    return refused, others


def mark_unavailable(node: Any, fields: Iterable[str]) -> None:
    """Add `fields` to the PR node's refused fields (in place; nothing for a non-dict)."""
    fields = set(fields)
    if not fields or not isinstance(node, dict):
        return
    known = set(node.get(UNAVAILABLE_KEY) or ())
    node[UNAVAILABLE_KEY] = sorted(known | fields)
