"""FakeHubControl: an httpx client of fakehub's control API (/_fakehub/*), in or out of process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

__all__ = ["FakeHubControl", "FakeHubControlError"]


class FakeHubControlError(RuntimeError):
    """The control API refused a call; the message is fakehub's one-line reason."""


class FakeHubControl:
    """Drive a running fakehub: stats, faults, repositories, live PR changes, limits."""

    def __init__(self, url: str, timeout: float = 60.0, *, ghes: bool = False) -> None:
        self.url = url.rstrip("/")
        self.ghes = ghes  # the server runs in GHES mode (`--ghes`): the API below /api
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        self.server: Any = None  # the in-process FakeHub when a fixture made one

    @property
    def api_url(self) -> str:
        """The REST base URL to give a client (GITHUB_API_URL): `/api/v3` in GHES mode."""
        return self.url + ("/api/v3" if self.ghes else "")

    @property
    def graphql_url(self) -> str:
        return self.url + ("/api/graphql" if self.ghes else "/graphql")

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, "/_fakehub" + path, json=body)
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise FakeHubControlError(f"{method} /_fakehub{path}: {response.status_code} {message}")
        return response.json()

    def stats(self) -> dict[str, Any]:
        """Counters since the last reset: requests, points, not_modified, per_token, ..."""
        return self._call("GET", "/stats")

    def reset_stats(self) -> None:
        self._call("POST", "/stats/reset")

    def faults(self, profile: dict[str, Any] | None) -> None:
        """Replace the fault profile (None or {} clears it)."""
        self._call("POST", "/faults", profile or {})

    def add_synthetic(self, full_name: str, prs: int, seed: int = 1, ci: str = "checks") -> None:
        """Serve a synthetic repository; `ci`: "checks", "statuses" or "both" (synthetic.py)."""
        body = {"synthetic": full_name, "prs": prs, "seed": seed}
        if ci != "checks":
            body["ci"] = ci
        self._call("POST", "/repos", body)

    def load_data(self, path: str | Path) -> list[str]:
        return self._call("POST", "/repos", {"data": str(path)})["repositories"]

    def repos(self) -> list[dict[str, Any]]:
        return self._call("GET", "/repos")

    def upsert_pr(self, full_name: str, node: dict[str, Any]) -> dict[str, Any]:
        """Create or update a PR from a partial node keyed by `number`; updatedAt becomes now."""
        return self._call("POST", f"/repos/{full_name}/pulls", node)

    def set_check_suites(
        self, full_name: str, number: int, suites: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Replace the PR's last-commit check suites without touching its updatedAt."""
        return self._call(
            "POST", f"/repos/{full_name}/pulls/{number}/check-suites", {"checkSuites": suites}
        )

    def rename_repo(self, full_name: str, new_full_name: str) -> str:
        """Rename (or transfer) a repository; its old name redirects (REST 301, GraphQL
        follows). Returns the new nameWithOwner."""
        return self._call("POST", f"/repos/{full_name}/rename", {"to": new_full_name})[
            "nameWithOwner"
        ]

    def push(self, full_name: str) -> str:
        """Bump the repository's pushedAt; returns the new value."""
        return self._call("POST", f"/repos/{full_name}/push")["pushedAt"]

    def set_limits(
        self,
        graphql_points: int | None = None,
        core_requests: int | None = None,
        reset_seconds: float | None = None,
    ) -> None:
        """Change the primary limits; every token starts a fresh window."""
        body = {
            key: value
            for key, value in (
                ("graphql_points", graphql_points),
                ("core_requests", core_requests),
                ("reset_seconds", reset_seconds),
            )
            if value is not None
        }
        self._call("POST", "/limits", body)

    def get_pr(self, full_name: str, number: int) -> dict[str, Any]:
        """The stored PR in dataset format (DATASETS.md)."""
        return self._call("GET", f"/repos/{full_name}/pulls/{number}")
