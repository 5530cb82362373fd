"""fakehub's entry point: `FakeHub`, an offline GitHub API (GraphQL and REST) on a real socket,
with GitHub's limits and injected faults, and a control API under /_fakehub/ (no token needed).

`FakeHub(...).start()` serves on a thread (HTTP/1.1 keep-alive, TCP_NODELAY, one thread per
connection); `.url` is its base URL; `.stop()` closes every connection, sleeping handlers
included, and returns promptly.

Where each part lives: http.py (the server, the handler, the one dispatch and when a request
is counted), api_routes.py (one API request: auth, counts, faults, then GraphQL or REST),
graphql_route.py, rest_routes.py, control_routes.py, auth.py (tokens, App JWTs), limits.py
(budgets and limit answers), injection.py (faults fired), accounting.py (the counts).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fakehub.accounting import Accounting, RequestLog, token_hash
from fakehub.api_routes import GHES_GRAPHQL, GHES_REST, serve_api
from fakehub.auth import Tokens, read_tokens
from fakehub.control_routes import answer_control
from fakehub.datasets import load_dataset_dir
from fakehub.faults import FaultProfile, load_profile
from fakehub.graphql_api import DocumentCache, build_schema
from fakehub.http import Server
from fakehub.limits import RateLimiter
from fakehub.server_time import ServerTime
from fakehub.store import Store

__all__ = ["FakeHub", "parse_synthetic"]

_SYNTHETIC = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+):(\d+)(?::(\d+))?$")


def parse_synthetic(spec: str) -> tuple[str, int, int]:
    """Parse `OWNER/NAME:PRS[:SEED]`; ValueError with one line when malformed."""
    match = _SYNTHETIC.match(spec)
    if not match:
        raise ValueError(f"--synthetic expects OWNER/NAME:PRS[:SEED], got {spec!r}")
    return match.group(1), int(match.group(2)), int(match.group(3) or 1)


class FakeHub:
    """An offline GitHub API on a real socket; see the module docstring."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data: Iterable[str | Path] = (),
        synthetic: Iterable[str | tuple[str, int] | tuple[str, int, int]] = (),
        request_log: str | Path | None = None,
        faults: dict[str, Any] | FaultProfile | str | Path | None = None,
        graphql_points: int = 5000,
        core_requests: int = 5000,
        reset_seconds: float = 3600,
        latency_ms: float = 0,
        tokens: Sequence[str] | str | Path | None = None,
        installation_token_seconds: float = 3600,
        app_public_key: str | None = None,
        ghes: bool = False,
        clock: Callable[[], float] = time.time,
        server_time: ServerTime | dict[str, Any] | None = None,
        missing_scopes: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.host, self.port = host, port
        # GitHub Enterprise Server's layout: REST under /api/v3, GraphQL at /api/graphql only.
        self.ghes = ghes
        # GitHub's time to run a query (server_time.py); None: answers come at once.
        self.server_time = ServerTime.from_json(server_time) if server_time is not None else None
        self.clock = clock
        self.store = Store(clock)
        self.limiter = RateLimiter(graphql_points, core_requests, reset_seconds, clock)
        self.accounting = Accounting(clock)
        self.latency = latency_ms / 1000
        self.schema = build_schema()
        self.documents = DocumentCache(self.schema)
        self.request_log = RequestLog(request_log) if request_log else None
        # The App's key, to check JWT signatures with; None: any well-formed JWT is accepted.
        self.app_public_key = app_public_key
        # {token: [PR field paths]}: a PAT lacking the scope for those fields (every answer
        # refuses them with INSUFFICIENT_SCOPES; see injection.refuse_field).
        # Keyed as requests know their token: by its hash (fakehub never keeps a token in logs).
        self.missing_scopes: dict[str, tuple[str, ...]] = {
            token_hash(token): tuple(fields) for token, fields in (missing_scopes or {}).items()
        }
        allowed: frozenset[str] | None = None
        if isinstance(tokens, str | Path):
            allowed = read_tokens(tokens)
        elif tokens is not None:
            allowed = frozenset(tokens)
        self.tokens = Tokens(allowed, clock, installation_token_seconds)
        self.faults = FaultProfile()
        if faults is not None:
            self.set_faults(faults)
        self.stopping = threading.Event()
        self._httpd: Server | None = None
        self._thread: threading.Thread | None = None
        # (token hash, resource, window reset) a primary_exhaustion fault has spent: once each.
        self.exhausted: set[tuple[str, str, int]] = set()
        for path in data:
            self.load_data(path)
        for spec in synthetic:
            if isinstance(spec, str):
                self.add_synthetic(*parse_synthetic(spec))
            else:
                self.add_synthetic(*spec)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeHub:
        """Bind and serve on a background thread; returns self."""
        self._httpd = Server((self.host, self.port), self, api=serve_api, control=answer_control)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """The server's root (`http://HOST:PORT`): the control API is below it, and so is the
        GitHub API unless `ghes` (then see `api_url`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The REST base a client is given: `url`, or `url + "/api/v3"` in GHES mode."""
        return self.url + (GHES_REST if self.ghes else "")

    @property
    def graphql_url(self) -> str:
        """Where GraphQL is answered: `/graphql`, or `/api/graphql` in GHES mode."""
        return self.url + (GHES_GRAPHQL if self.ghes else "/graphql")

    def stop(self) -> None:
        """Stop serving and close every open connection; idempotent."""
        self.stopping.set()
        httpd = self._httpd
        if httpd is None:
            return
        self._httpd = None
        httpd.shutdown()
        with httpd.connections_lock:
            open_connections = list(httpd.connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.request_log is not None:
            self.request_log.close()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- configuration (also behind the control API) -------------------------------------------

    def load_data(self, path: str | Path) -> list[str]:
        """Serve the dataset(s) at `path`; returns the repository names; DatasetError if bad."""
        names = []
        for meta, prs in load_dataset_dir(path):
            names.append(self.store.add_repository(meta, prs).full_name)
        return names

    def add_synthetic(self, full_name: str, prs: int, seed: int = 1, ci: str = "checks") -> str:
        """Generate and serve a deterministic repository of `prs` PRs (`ci`: see synthetic.py)."""
        from fakehub.synthetic import generate_repository

        now = datetime.fromtimestamp(self.clock(), UTC)
        meta, nodes = generate_repository(full_name, prs, seed=seed, now=now, ci=ci)
        return self.store.add_repository(meta, nodes).full_name

    def set_faults(self, profile: dict[str, Any] | FaultProfile | str | Path | None) -> None:
        """Replace the fault profile (None or {} clears it); FaultProfileError if bad."""
        if isinstance(profile, FaultProfile):
            self.faults = profile
        elif isinstance(profile, str | Path):
            self.faults = load_profile(profile)
        else:
            self.faults = FaultProfile.from_json(profile or {})

    def set_limits(
        self,
        graphql_points: int | None = None,
        core_requests: int | None = None,
        reset_seconds: float | None = None,
    ) -> None:
        """Change the primary limits; every token starts a fresh window."""
        self.limiter.configure(graphql_points, core_requests, reset_seconds)
        self.accounting.clear_limits()
        self.exhausted.clear()
