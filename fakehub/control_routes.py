"""The control API under /_fakehub/ (no token): stats, faults, limits, repositories and live
changes to them. Its client is control.py (FakeHubControl); docs/ARCHITECTURE.md lists the
routes.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from fakehub.datasets import DatasetError
from fakehub.faults import FaultProfileError
from fakehub.store import StoreError

if TYPE_CHECKING:
    from fakehub.server import FakeHub

__all__ = ["answer_control"]


def answer_control(hub: FakeHub, method: str, path: str, raw: bytes) -> tuple[int, Any]:
    """(status, JSON body) of one control request; a bad request is a 400 (404 for a
    repository or PR not served) whose message is the one-line reason."""
    try:
        payload = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return 400, {"message": f"invalid JSON body: {exc}"}
    try:
        return _route(hub, method, path, payload)
    except (
        StoreError,
        DatasetError,
        FaultProfileError,
        ValueError,
        TypeError,
        KeyError,
    ) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        status = 404 if "not served" in message or "not found" in message else 400
        return status, {"message": message}


def _route(hub: FakeHub, method: str, path: str, payload: Any) -> tuple[int, Any]:
    if path == "/_fakehub/stats" and method == "GET":
        stats = hub.accounting.snapshot()
        stats["rate_limits"] = hub.limiter.snapshot()
        return 200, stats
    if path == "/_fakehub/stats/reset" and method == "POST":
        hub.accounting.reset()
        return 200, {"ok": True}
    if path == "/_fakehub/faults" and method == "POST":
        hub.set_faults(payload)
        return 200, {"ok": True, "rules": len(hub.faults.rules)}
    if path == "/_fakehub/limits" and method == "POST":
        if not isinstance(payload, dict):
            raise ValueError("limits must be a JSON object")
        unknown = set(payload) - {"graphql_points", "core_requests", "reset_seconds"}
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        hub.set_limits(**payload)
        return 200, {"ok": True}
    if path == "/_fakehub/repos" and method == "GET":
        return 200, [
            {"nameWithOwner": repo.full_name, "prs": len(repo.prs), "pushedAt": repo.pushed_at}
            for repo in list(hub.store.repos.values())
        ]
    if path == "/_fakehub/repos" and method == "POST":
        return _add_repository(hub, payload)
    match = re.fullmatch(r"/_fakehub/repos/([^/]+)/([^/]+)(/.*)?", path)
    if match:
        full_name = f"{match.group(1)}/{match.group(2)}"
        tail = match.group(3) or ""
        if tail == "/pulls" and method == "POST":
            return 200, hub.store.upsert_pr(full_name, payload)
        if tail == "/push" and method == "POST":
            return 200, {"pushedAt": hub.store.push(full_name)}
        if tail == "/rename" and method == "POST":
            if not isinstance(payload, dict) or not isinstance(payload.get("to"), str):
                raise ValueError('expected {"to": "owner/new-name"}')
            repo = hub.store.rename_repository(full_name, payload["to"])
            return 200, {"nameWithOwner": repo.full_name}
        pull = re.fullmatch(r"/pulls/(\d+)(/check-suites)?", tail)
        if pull and pull.group(2) and method == "POST":
            suites = payload.get("checkSuites") if isinstance(payload, dict) else payload
            if not isinstance(suites, list):
                raise ValueError('expected {"checkSuites": [...]}')
            return 200, hub.store.set_check_suites(full_name, int(pull.group(1)), suites)
        if pull and not pull.group(2) and method == "GET":
            return 200, hub.store.get_pr(full_name, int(pull.group(1)))
    return 404, {"message": f"no control endpoint {method} {path}"}


def _add_repository(hub: FakeHub, payload: Any) -> tuple[int, Any]:
    """POST /_fakehub/repos: a synthetic repository, or the datasets of a directory."""
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    if "synthetic" in payload:
        prs = payload.get("prs")
        seed = payload.get("seed", 1)
        if not isinstance(prs, int) or prs < 0 or not isinstance(seed, int):
            raise ValueError("synthetic needs an integer prs (and an integer seed)")
        ci = payload.get("ci", "checks")
        name = hub.add_synthetic(str(payload["synthetic"]), prs, seed, ci=str(ci))
        return 201, {"repositories": [name]}
    if "data" in payload:
        return 201, {"repositories": hub.load_data(str(payload["data"]))}
    raise ValueError('expected {"synthetic": "o/n", "prs": N} or {"data": "/dir"}')
