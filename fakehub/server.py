"""fakehub's HTTP server: GitHub's GraphQL and REST endpoints, its limits and faults, and a

Size: over 400 lines, and more than one job (HTTP plumbing, JWT, faults, limits, REST, peers'
and control routes); split into http / api / control modules is issue 10's next step.
control API under /_fakehub/ (no token needed).

`FakeHub(...).start()` serves on a thread (HTTP/1.1 keep-alive, TCP_NODELAY, one thread per
connection); `.url` is its base URL; `.stop()` closes every connection, sleeping handlers
included, and returns promptly.

Choices where GitHub varies, documented here once:
- GraphQL primary exhaustion answers HTTP 200 with `{"errors": [{"type": "RATE_LIMITED", ...}]}`
  and `x-ratelimit-remaining: 0` (GitHub also answers 403 in some cases); a query costing more
  than what remains is refused the same way and spends the rest of the window.
- An invalid GraphQL document (parse, validation or pagination errors) costs 1 point.
- REST checks the primary limit before `If-None-Match`: an exhausted token gets 403, not 304.

Accounting of what a client is blamed for:
- `max_in_flight_per_token`: a request is in flight from its arrival until its answer's first
  byte is written, or until its connection is dropped, or until its client hangs up (a client
  whose timeout fired and who retries has one request in flight, not two).
- `requests_while_limited`: a request arriving after a limit answer to the same token was sent
  and before that answer's end: `x-ratelimit-reset` for a primary limit (of that resource),
  `retry-after` or 60 s for a secondary one (every resource).
- Every count (`statuses` and the counters) and the request-log line of a request are recorded
  before the first byte of its answer is written (or its connection dropped): a client reading
  `/_fakehub/stats` right after an answer finds it counted. A client hanging up while the
  answer's bytes are written is therefore not seen (its status stays the one answered).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakehub import rest
from fakehub.accounting import (
    SECONDARY_DEFAULT_SECONDS,
    Accounting,
    Flight,
    RequestLog,
    token_hash,
)
from fakehub.datasets import DatasetError, load_dataset_dir
from fakehub.faults import REQUEST_KINDS, FaultProfile, FaultProfileError, FaultRule, load_profile
from fakehub.graphql_api import Context, DocumentCache, analyse, build_schema, run
from fakehub.limits import Budget, RateLimiter
from fakehub.server_time import ServerTime, returned_nodes
from fakehub.store import Store, StoreError, iso, stable_id
from fakehub.views import pr_view

__all__ = ["FakeHub", "parse_synthetic"]

JSON = "application/json; charset=utf-8"
REST_DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
STATUS_BODIES = {
    502: {"message": "Server Error"},
    503: {"message": "Service Unavailable"},
    504: {
        "message": "We couldn't respond to your request in time. Sorry about that. Please try "
        "resubmitting your request and contact us if the problem persists."
    },
}
GRAPHQL_502 = (
    "Something went wrong while executing your query. This may be the result of a timeout, "
    "or it could be a GitHub bug. Please include `{id}` when reporting this issue."
)
# How often a sleeping handler (latency, slow fault) looks whether its client hung up.
WATCH_SECONDS = 0.05
_PEEK_FLAGS = socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)
_SYNTHETIC = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+):(\d+)(?::(\d+))?$")
_REPO_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)(/.*)?$")
# docs.github.com/enterprise-server, "Getting started with the REST API" (REST at
# http(s)://HOSTNAME/api/v3) and "Forming calls with GraphQL" (GraphQL at
# http(s)://HOSTNAME/api/graphql).
GHES_REST = "/api/v3"
GHES_GRAPHQL = "/api/graphql"


def _api_path(path: str, *, ghes: bool) -> tuple[str, str | None]:
    """(REST prefix, API path) of a request path; the path is None where no API is served.

    api.github.com: GraphQL at /graphql only, REST at the root. REST is also answered below
    /api/v3 there, for peers that take an Enterprise-style base URL (Perceval's
    --enterprise-url), but never GraphQL: GitHub serves no /api/v3/graphql anywhere.
    GHES mode: REST only below /api/v3, GraphQL only at /api/graphql, nothing at the root.
    """
    if path == GHES_GRAPHQL:
        return "", "/graphql" if ghes else None
    if path.startswith(GHES_REST + "/") or path == GHES_REST:
        rest_path = path[len(GHES_REST) :] or "/"
        return GHES_REST, None if rest_path == "/graphql" else rest_path
    return "", None if ghes else path


def parse_synthetic(spec: str) -> tuple[str, int, int]:
    """Parse `OWNER/NAME:PRS[:SEED]`; ValueError with one line when malformed."""
    match = _SYNTHETIC.match(spec)
    if not match:
        raise ValueError(f"--synthetic expects OWNER/NAME:PRS[:SEED], got {spec!r}")
    return match.group(1), int(match.group(2)), int(match.group(3) or 1)


class _Answer(Exception):
    """Raised inside a handler to send one response at once."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class _Hangup(Exception):
    """Raised inside a handler whose wait ended without an answer to send: the client hung up
    (status 499) or fakehub is stopping (status 0)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], hub: FakeHub) -> None:
        self.hub = hub
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        # Nagle + delayed ACK would add ~40 ms per keep-alive request.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address


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
        self.installation_token_seconds = installation_token_seconds
        self.app_public_key = app_public_key
        # {token: [PR field paths]}: a PAT lacking the scope for those fields (every answer
        # refuses them with INSUFFICIENT_SCOPES; see _refuse_field).
        # Keyed as requests know their token: by its hash (fakehub never keeps a token in logs).
        self.missing_scopes: dict[str, tuple[str, ...]] = {
            token_hash(token): tuple(fields) for token, fields in (missing_scopes or {}).items()
        }
        self._installation_tokens: dict[str, float] = {}
        self.allowed_tokens: frozenset[str] | None = None
        if isinstance(tokens, str | Path):
            self.allowed_tokens = _read_tokens(tokens)
        elif tokens is not None:
            self.allowed_tokens = frozenset(tokens)
        self.faults = FaultProfile()
        if faults is not None:
            self.set_faults(faults)
        self.stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._exhausted: set[tuple[str, str, int]] = set()
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
        self._httpd = _Server((self.host, self.port), self)
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
        self._exhausted.clear()

    # --- tokens --------------------------------------------------------------------------------

    def token_valid(self, token: str) -> bool:
        expiry = self._installation_tokens.get(token)
        if expiry is not None:
            return self.clock() < expiry
        if not token:
            return False
        return self.allowed_tokens is None or token in self.allowed_tokens

    def issue_installation_token(self) -> tuple[str, float]:
        token = "ghs_" + secrets.token_urlsafe(27).replace("-", "a").replace("_", "b")[:36]
        expires = self.clock() + self.installation_token_seconds
        self._installation_tokens[token] = expires
        return token, expires


def _read_tokens(path: str | Path) -> frozenset[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read tokens file: {exc.strerror or exc}") from None
    tokens = frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    if not tokens:
        raise ValueError(f"{path}: no token in tokens file")
    return tokens


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    # The current API request while it counts as in flight, and the limit window its answer
    # tells the client of ((token, scope, until), noted when the answer is sent).
    _flight: Flight | None = None
    _limit_note: tuple[str, str, float] | None = None
    # The current API request's request-log entry until its status is recorded (_settle).
    _record: dict[str, Any] | None = None
    server_version = "fakehub"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silent: the request log (--request-log) is the record, without tokens."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    # --- plumbing ------------------------------------------------------------------------------

    @property
    def hub(self) -> FakeHub:
        return self.server.hub

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> bytes:
        if body is None:
            payload = b""
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(payload) if status != 304 else 0))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # Before the client can read a byte of the answer: a serial client's next request
        # (on any connection) must find this one landed and the limit it announces noted.
        self._answered(status)
        self.end_headers()
        if status != 304 and payload:
            self.wfile.write(payload)
        return payload

    def _answered(self, status: int) -> None:
        """The answer is about to leave: its status is recorded, the limit it announces starts
        counting (`requests_while_limited`), and the request stops counting as in flight."""
        self._settle(status)
        note, self._limit_note = self._limit_note, None
        if note is not None:
            self.hub.accounting.note_limited(*note)
        self._land()

    def _settle(self, status: int) -> None:
        """Record the current API request's status in the stats and the request log, once.

        Called before any byte of the answer (or the hang-up) reaches the client, so a client
        reading the stats as soon as it has its answer finds the request counted.
        """
        record, self._record = self._record, None
        if record is None:
            return
        self.hub.accounting.status(status)
        record["status"] = status
        if self.hub.request_log is not None:
            self.hub.request_log.write(record)

    def _land(self) -> None:
        flight, self._flight = self._flight, None
        if flight is not None:
            flight.land()

    def _drop(self, status: int) -> None:
        """Close the connection without a response (a dropped connection); `status` is what the
        stats record: 0 for a drop, 499 for a client that hung up first."""
        self.close_connection = True
        # Record and land first: the client sees the hang-up at once and may retry at once.
        self._settle(status)
        self._land()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _client_gone(self) -> bool:
        """Whether the client hung up (EOF or reset on its connection), without blocking.

        Called from other handlers' threads too (Accounting.begin); it only peeks.
        """
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, _PEEK_FLAGS) == b""
        except BlockingIOError:
            return False
        except (OSError, ValueError):  # reset, or a socket already closed
            return True

    def _wait(self, seconds: float) -> None:
        """Sleep `seconds` as a slow GitHub would, watching the connection; _Hangup when the
        client hangs up (GitHub would see the request abandoned) or fakehub stops."""
        deadline = time.monotonic() + seconds
        while True:
            if self.hub.stopping.is_set():
                raise _Hangup(0)
            if self._client_gone():
                raise _Hangup(499)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.hub.stopping.wait(min(remaining, WATCH_SECONDS))

    def _base_url(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.hub.url

    def _handle(self) -> None:
        try:
            split = urlsplit(self.path)
            body = self._read_body()
            if split.path.startswith("/_fakehub/") or split.path == "/_fakehub":
                self._control(split.path, body)
                return
            self._api(split.path, split.query, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a fakehub bug: answer as GitHub does, never a traceback on stderr
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send(500, {"message": "Server Error"})

    # --- the API -------------------------------------------------------------------------------

    def _api(self, path: str, query: str, raw: bytes) -> None:
        hub = self.hub
        started = hub.clock()
        prefix, path = _api_path(path, ghes=hub.ghes)
        resource = "graphql" if path == "/graphql" else "core"
        kind = "graphql_requests" if resource == "graphql" else "rest_requests"
        log: dict[str, Any] = {
            "time": datetime.fromtimestamp(started, UTC).isoformat(timespec="milliseconds"),
            "method": self.command,
            "path": self.path,
            "token": None,
            "status": None,
            "cost": 0,
        }
        token = _bearer(self.headers.get("Authorization"))
        tok = token_hash(token) if token else None
        log["token"] = tok
        status = 500
        self._record = log
        try:
            if path is None:
                # Not where this GitHub serves its API: no token check, no point spent.
                hub.accounting.add(tok, requests=1)
                status = 404
                self._send(404, {"message": "Not Found", "documentation_url": REST_DOCS})
                return
            app_route = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
            if app_route and self.command == "POST":
                hub.accounting.add(tok, requests=1, rest_requests=1)
                status = self._app_token(token)
                return
            if not token or not hub.token_valid(token):
                hub.accounting.add(tok, requests=1, **{kind: 1})
                unauth = Budget(resource, 60, 0, int(hub.clock()) + 3600).headers()
                status = 401
                self._send(
                    401, {"message": "Bad credentials", "documentation_url": REST_DOCS}, unauth
                )
                return
            assert tok is not None
            self._limit_note = None
            self._flight = hub.accounting.begin(tok, self._client_gone)
            try:
                status = self._authorised(tok, resource, kind, path, prefix, query, raw, log)
            finally:
                self._limit_note = None
                self._land()
        except (BrokenPipeError, ConnectionResetError):
            status = 499  # recorded here only if the client left before an answer was begun
        finally:
            # Requests that ended without _send or _drop (a fakehub bug: its 500 follows).
            self._settle(status)

    def _authorised(
        self,
        tok: str,
        resource: str,
        kind: str,
        path: str,
        prefix: str,
        query: str,
        raw: bytes,
        log: dict[str, Any],
    ) -> int:
        hub = self.hub
        free = path == "/rate_limit"
        counts = {"requests": 1, kind: 1}
        if not free and hub.accounting.check_limited(tok, resource):
            counts["requests_while_limited"] = 1
        hub.accounting.add(tok, **counts)
        if resource == "graphql":
            try:
                payload = json.loads(raw or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError):
                payload = None
            if isinstance(payload, dict):
                log["query"] = payload.get("query")
                log["variables"] = payload.get("variables")
        try:
            if hub.latency:
                self._wait(hub.latency)
            self._request_faults(tok, resource, path)
            if resource == "graphql":
                if self.command != "POST":
                    raise _Answer(404, {"message": "Not Found", "documentation_url": REST_DOCS})
                return self._graphql(tok, raw, log)
            return self._rest(tok, path, prefix, query, log)
        except _Hangup as hangup:
            self._drop(hangup.status)
            return hangup.status
        except _Answer as answer:
            headers = answer.headers
            if not any(name.startswith("x-ratelimit") for name in headers):
                headers = {**hub.limiter.peek(tok, resource).headers(), **headers}
            if answer.status == 0:
                self._drop(0)
                return 0
            self._send(answer.status, answer.body, headers)
            return answer.status

    # --- faults --------------------------------------------------------------------------------

    def _request_faults(self, tok: str, resource: str, path: str) -> None:
        hub = self.hub
        profile = hub.faults
        for rule in profile.matching(REQUEST_KINDS, path):
            if rule.fault == "primary_exhaustion":
                self._primary_exhaustion(rule, tok, resource)
                continue
            if not profile.fire(rule):
                continue
            hub.accounting.add(tok, faults_injected=1)
            if rule.fault == "slow":
                self._wait(rule.seconds)
                continue
            if rule.fault == "drop":
                raise _Answer(0, None)
            if rule.fault == "status":
                raise _Answer(*self._status_fault(rule, resource))
            if rule.fault == "secondary_limit":
                self._secondary(rule, tok, resource)

    def _status_fault(self, rule: FaultRule, resource: str) -> tuple[int, Any]:
        status = rule.status or 502
        if resource == "graphql" and status == 502:
            request_id = secrets.token_hex(4).upper()
            return status, {
                "data": None,
                "errors": [{"message": GRAPHQL_502.format(id=request_id)}],
            }
        return status, STATUS_BODIES.get(status, {"message": "Server Error"})

    def _secondary(self, rule: FaultRule, tok: str, resource: str) -> None:
        hub = self.hub
        status = rule.status or 403
        headers = hub.limiter.peek(tok, resource).headers()
        wait = SECONDARY_DEFAULT_SECONDS
        if rule.retry_after is not None:
            headers["retry-after"] = str(rule.retry_after)
            wait = rule.retry_after
        self._limit_note = (tok, "secondary", hub.clock() + wait)
        hub.accounting.add(tok, rate_limited_responses=1)
        request_id = secrets.token_hex(8).upper()
        raise _Answer(
            status,
            {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                "before you try again. If you reach out to GitHub Support for help, please "
                f"include the request ID {request_id}.",
                "documentation_url": SECONDARY_DOCS,
                "status": str(status),
            },
            headers,
        )

    def _primary_exhaustion(self, rule: FaultRule, tok: str, resource: str) -> None:
        hub = self.hub
        budget = hub.limiter.peek(tok, resource)
        key = (tok, resource, budget.reset_at)
        if budget.used >= rule.after_points and key not in hub._exhausted:
            hub._exhausted.add(key)
            hub.limiter.exhaust(tok, resource)
            hub.accounting.add(tok, faults_injected=1)

    def _rate_limited(self, tok: str, resource: str) -> _Answer:
        """The primary-limit answer: GraphQL 200 RATE_LIMITED, REST 403; remaining 0."""
        hub = self.hub
        budget = hub.limiter.exhaust(tok, resource)
        # The window ends at the reset GitHub announces: a request after it is not limited.
        self._limit_note = (tok, resource, budget.reset_at)
        hub.accounting.add(tok, rate_limited_responses=1)
        user_id = stable_id("token:" + tok)
        if resource == "graphql":
            body: dict[str, Any] = {
                "errors": [
                    {
                        "type": "RATE_LIMITED",
                        "message": f"API rate limit exceeded for user ID {user_id}.",
                    }
                ]
            }
            return _Answer(200, body, budget.headers())
        return _Answer(
            403,
            {
                "message": f"API rate limit exceeded for user ID {user_id}. If you reach out to "
                "GitHub Support for help, please include the request ID "
                f"{secrets.token_hex(8).upper()}.",
                "documentation_url": RATE_DOCS,
                "status": "403",
            },
            budget.headers(),
        )

    # --- GraphQL -------------------------------------------------------------------------------

    def _graphql(self, tok: str, raw: bytes, log: dict[str, Any]) -> int:
        hub = self.hub
        try:
            payload = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Answer(
                400,
                {
                    "message": "Problems parsing JSON",
                    "documentation_url": "https://docs.github.com/graphql",
                },
            ) from None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise _Answer(
                200,
                {
                    "errors": [
                        {"message": "A query attribute must be specified and must be a string."}
                    ]
                },
            )
        query: str = payload["query"]
        variables = payload.get("variables")
        if not isinstance(variables, dict):
            variables = None
        operation_name = payload.get("operationName")
        if not isinstance(operation_name, str):
            operation_name = None
        document, errors = hub.documents.get(query)
        analysis = None
        if document is not None:
            analysis = analyse(hub.schema, document, variables, operation_name)
            errors = analysis.errors
        cost = 1 if errors or analysis is None else analysis.cost
        if document is not None and analysis is not None and not errors:
            for rule in hub.faults.matching(frozenset({"heavy_page_502"}), "/graphql"):
                if analysis.nodes > rule.max_nodes and hub.faults.fire(rule):
                    hub.accounting.add(tok, faults_injected=1)
                    raise _Answer(*self._status_fault(rule, "graphql"))
        ok, budget = hub.limiter.charge(tok, "graphql", cost)
        if not ok:
            raise self._rate_limited(tok, "graphql")
        hub.accounting.add(tok, graphql_points=cost)
        log["cost"] = cost
        if errors or document is None:
            self._send(200, {"errors": errors}, budget.headers())
            return 200
        assert analysis is not None
        context = Context(
            hub.store,
            {
                "cost": cost,
                "limit": budget.limit,
                "remaining": budget.remaining,
                "used": budget.used,
                "resetAt": iso(budget.reset_at),
                "nodeCount": analysis.nodes,
            },
        )
        body = run(hub.schema, document, context, variables, operation_name)
        if hub.server_time is not None:
            self._server_time(hub.server_time, tok, body)
        for rule in hub.faults.matching(frozenset({"partial_errors"}), "/graphql"):
            if hub.faults.fire(rule) and _inject_partial_error(body):
                hub.accounting.add(tok, faults_injected=1)
                break
        for rule in hub.faults.matching(frozenset({"field_forbidden"}), "/graphql"):
            if hub.faults.fire(rule) and _refuse_field(body, rule.field, rule.error_type):
                hub.accounting.add(tok, faults_injected=1)
        for field_path in hub.missing_scopes.get(tok, ()):
            _refuse_field(body, field_path, "INSUFFICIENT_SCOPES")
        self._send(200, body, budget.headers())
        return 200

    def _server_time(self, model: ServerTime, tok: str, body: dict[str, Any]) -> None:
        """Take as long as GitHub would for this answer; past its limit, a 502 at the limit.

        docs.github.com (graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
        #timeouts): a request processed for more than 10 seconds is terminated. The points were
        charged before: a timed-out query counts against the primary limit (github.blog/
        changelog/2025-07-21-including-timeouts-in-primary-rate-limits).
        """
        modelled = model.seconds(returned_nodes(body.get("data")))
        if modelled > model.limit_seconds:
            self.hub.accounting.add(
                tok, server_time_ms=round(model.limit_seconds * 1000), server_timeouts=1
            )
            self._wait(model.limit_seconds * model.scale)
            request_id = secrets.token_hex(4).upper()
            raise _Answer(
                502, {"data": None, "errors": [{"message": GRAPHQL_502.format(id=request_id)}]}
            )
        self.hub.accounting.add(tok, server_time_ms=round(modelled * 1000))
        self._wait(modelled * model.scale)

    # --- REST ----------------------------------------------------------------------------------

    def _rest(self, tok: str, path: str, prefix: str, query: str, log: dict[str, Any]) -> int:
        hub = self.hub
        if path == "/rate_limit" and self.command == "GET":
            core = hub.limiter.peek(tok, "core")
            graphql = hub.limiter.peek(tok, "graphql")
            now = int(hub.clock())
            budgets = {
                "core": _limit_values(core),
                "graphql": _limit_values(graphql),
                "search": {"limit": 30, "remaining": 30, "reset": now + 60, "used": 0},
            }
            payload = self._send(200, rest.rate_limit_json(budgets), core.headers())
            del payload
            return 200
        if hub.limiter.peek(tok, "core").remaining <= 0:
            raise self._rate_limited(tok, "core")
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        api = self._base_url() + prefix
        status, body, headers = self._route(api, path, params)
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(payload).hexdigest()[:40] + '"'
        headers["ETag"] = etag
        if status == 200 and _etag_matches(self.headers.get("If-None-Match"), etag):
            # docs.github.com: a 304 to a conditional request costs no primary rate-limit point.
            hub.accounting.add(tok, not_modified=1)
            self._send(304, None, {**hub.limiter.peek(tok, "core").headers(), **headers})
            return 304
        ok, budget = hub.limiter.charge(tok, "core", 1)
        if not ok:
            raise self._rate_limited(tok, "core")
        hub.accounting.add(tok, rest_points=1)
        log["cost"] = 1
        self._send(status, payload, {**budget.headers(), **headers})
        return status

    def _route(
        self, api: str, path: str, params: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        not_found = (404, {"message": "Not Found", "documentation_url": REST_DOCS}, {})
        if self.command != "GET":
            return not_found
        path = path.rstrip("/") or "/"
        user = re.fullmatch(r"/users/([A-Za-z0-9][A-Za-z0-9-]*(?:\[bot\])?)(/orgs)?", path)
        if user:
            if user.group(2):
                return self._paginate(api + path, [], params)
            return 200, rest.public_user_json(api, user.group(1)), {}
        match = _REPO_PATH.match(path)
        if not match:
            return not_found
        owner, name, rest_path = match.group(1), match.group(2), match.group(3) or ""
        store = self.hub.store
        repo = store.get_repo(owner, name)
        if repo is None and (moved := store.moved_repo(owner, name)) is not None:
            return _moved(api, moved.full_name, rest_path, self.path)
        if repo is None:
            return not_found
        if rest_path == "":
            return 200, rest.repository_json(api, repo), {}
        if rest_path == "/pulls":
            return self._pulls(api, repo, params)
        check_runs = re.fullmatch(r"/commits/([^/]+)/check-runs", rest_path)
        if check_runs:
            return self._check_runs(api, repo, check_runs.group(1), params)
        single_commit = re.fullmatch(r"/commits/([^/]+)", rest_path)
        if single_commit:
            return self._single_commit(api, repo, single_commit.group(1), params)
        return self._peer_route(api, repo, rest_path, params) or not_found

    def _paginate(
        self, url: str, items: list[Any], params: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """One page of `items` by per_page (<= 100) and page, with GitHub's Link header."""
        per_page = min(100, max(1, _int(params.get("per_page"), 30)))
        page = max(1, _int(params.get("page"), 1))
        chosen = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        last_page = max(1, -(-len(items) // per_page))
        link_params = {k: v for k, v in params.items() if k != "page"}
        if link := rest.link_header(url, link_params, page, last_page):
            headers["Link"] = link
        return 200, chosen, headers

    def _peer_route(
        self, api: str, repo: Any, rest_path: str, params: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]] | None:
        """The REST endpoints peers call (issue 7): issues, one PR and its parts, statuses."""
        url = f"{api}/repos/{repo.full_name}{rest_path}"
        if rest_path == "/pulls/comments":
            return self._paginate(url, [], params)
        if rest_path == "/issues":
            return self._issues(api, repo, url, params)
        status = re.fullmatch(r"/commits/([^/]+)/status", rest_path)
        if status:
            number = repo.last_oids.get(status.group(1))
            if number is None:
                return None
            return 200, rest.combined_status_json(api, repo, repo.prs[number], status.group(1)), {}
        item = re.fullmatch(r"/(pulls|issues)/(\d+)(/[a-z_]+)?", rest_path)
        if not item:
            return None
        kind, number, part = item.group(1), int(item.group(2)), item.group(3) or ""
        pr = repo.prs.get(number)
        if pr is None:
            return None
        if kind == "issues":
            if part == "":
                return 200, rest.issue_json(api, repo, pr), {}
            if part == "/comments":
                comments = pr_view(repo, pr)["comments"]
                items = [rest.issue_comment_json(api, repo, pr, c) for c in comments[:]]
                return self._paginate(url, items, params)
            return None
        if part == "":
            body = rest.repository_json(api, repo, full=False)
            return 200, rest.pull_full_json(api, repo, pr, body), {}
        if part == "/reviews":
            items = [rest.review_json(api, repo, pr, r) for r in pr.get("reviews") or []]
            return self._paginate(url, items, params)
        if part == "/commits":
            commits = pr["commits"][:250]  # GitHub lists at most 250 commits here
            items = [
                rest.commit_json(api, repo, c, commits[i - 1]["oid"] if i else None)
                for i, c in enumerate(commits)
            ]
            return self._paginate(url, items, params)
        if part == "/files":
            head = pr_view(repo, pr)["headRefOid"]
            items = [rest.file_json(api, repo, f, head) for f in pr["files"][:3000]]
            return self._paginate(url, items, params)
        if part == "/comments":
            return self._paginate(url, [], params)
        if part == "/requested_reviewers":
            users = [
                rest.user_json(api, {"__typename": "User", **r})
                for r in pr.get("reviewRequests") or []
            ]
            return 200, {"users": users, "teams": []}, {}
        return None

    def _issues(
        self, api: str, repo: Any, url: str, params: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        state = params.get("state", "open")
        if state not in ("open", "closed", "all"):
            return _validation_error("state", state)
        states = {"open": frozenset({"OPEN"}), "closed": frozenset({"CLOSED", "MERGED"})}.get(state)
        sort = params.get("sort", "created")
        field = "updatedAt" if sort == "updated" else "createdAt"
        # GitHub: /issues sorts descending unless told otherwise.
        descending = params.get("direction", "desc") != "asc"
        since = params.get("since")
        with self.hub.store.lock:
            numbers = repo.rest_order(field, descending, states)
            prs = [repo.prs[n] for n in numbers]
        if since:
            prs = [pr for pr in prs if pr["updatedAt"] >= _normal_since(since)]
        per_page = min(100, max(1, _int(params.get("per_page"), 30)))
        page = max(1, _int(params.get("page"), 1))
        chosen = prs[(page - 1) * per_page : page * per_page]
        _, _, headers = self._paginate(url, prs, params)
        return 200, [rest.issue_json(api, repo, pr) for pr in chosen], headers

    def _pulls(
        self, api: str, repo: Any, params: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        state = params.get("state", "open")
        states = {"open": frozenset({"OPEN"}), "closed": frozenset({"CLOSED", "MERGED"})}.get(state)
        if state not in ("open", "closed", "all"):
            return _validation_error("state", state)
        sort = params.get("sort", "created")
        field = "updatedAt" if sort == "updated" else "createdAt"
        # GitHub: direction defaults to desc when sort is created (or absent), else asc.
        direction = params.get("direction") or ("desc" if sort == "created" else "asc")
        per_page = min(100, max(1, _int(params.get("per_page"), 30)))
        page = max(1, _int(params.get("page"), 1))
        with self.hub.store.lock:
            numbers = repo.rest_order(field, direction == "desc", states)
            chosen = [repo.prs[n] for n in numbers[(page - 1) * per_page : page * per_page]]
        repo_body = rest.repository_json(api, repo, full=False)
        body = [rest.pull_json(api, repo, pr, repo_body) for pr in chosen]
        last_page = max(1, -(-len(numbers) // per_page))
        headers: dict[str, str] = {}
        link_params = {k: v for k, v in params.items() if k != "page"}
        link = rest.link_header(f"{api}/repos/{repo.full_name}/pulls", link_params, page, last_page)
        if link:
            headers["Link"] = link
        return 200, body, headers

    def _check_runs(
        self, api: str, repo: Any, ref: str, params: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        number = repo.last_oids.get(ref)
        if number is None:
            # A branch name: the PR whose head ref it is.
            number = next(
                (n for n, pr in repo.prs.items() if pr["headRefName"] == ref and pr["commits"]),
                None,
            )
        if number is None:
            return (
                422,
                {"message": f"No commit found for SHA: {ref}", "documentation_url": REST_DOCS},
                {},
            )
        pr = repo.prs[number]
        view = pr_view(repo, pr)
        runs = [
            run
            for commit in view["commits"][-1:]
            for suite in commit["commit"]["checkSuites"]
            for run in suite["checkRuns"]
        ]
        if name := params.get("check_name"):
            runs = [run for run in runs if run["name"] == name]
        if status := params.get("status"):
            runs = [run for run in runs if run["status"].lower() == status]
        per_page = min(100, max(1, _int(params.get("per_page"), 30)))
        page = max(1, _int(params.get("page"), 1))
        chosen = runs[(page - 1) * per_page : page * per_page]
        head_sha = view["headRefOid"]
        body = {
            "total_count": len(runs),
            "check_runs": [rest.check_run_json(api, repo, pr, run, head_sha) for run in chosen],
        }
        headers: dict[str, str] = {}
        last_page = max(1, -(-len(runs) // per_page))
        link_params = {k: v for k, v in params.items() if k != "page"}
        url = f"{api}/repos/{repo.full_name}/commits/{ref}/check-runs"
        if link := rest.link_header(url, link_params, page, last_page):
            headers["Link"] = link
        return 200, body, headers

    def _single_commit(
        self, api: str, repo: Any, ref: str, params: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """GET /repos/{o}/{r}/commits/{ref} (docs.github.com/rest/commits/commits#get-a-commit):
        the commit with its `stats` and `files`; a SHA no PR holds is 422 "No commit found".

        Datasets keep files per PR, not per commit: a PR's only commit gets the PR's files, a
        commit among several gets none (its `stats` still hold its own line counts).
        """
        with self.hub.store.lock:
            found = commit_index(repo).get(ref.lower())
            if found is None:
                return (
                    422,
                    {"message": f"No commit found for SHA: {ref}", "documentation_url": REST_DOCS},
                    {},
                )
            number, index = found
            pr = repo.prs[number]
        commits = pr["commits"]
        commit = commits[index]
        parent = commits[index - 1]["oid"] if index else None
        body = rest.commit_json(api, repo, commit, parent)
        body["stats"] = {
            "additions": commit["additions"],
            "deletions": commit["deletions"],
            "total": commit["additions"] + commit["deletions"],
        }
        files = pr["files"] if len(commits) == 1 else []
        # GitHub pages a commit's files 300 at a time (per_page/page, with a Link header).
        per_page = min(300, max(1, _int(params.get("per_page"), 300)))
        page = max(1, _int(params.get("page"), 1))
        chosen = files[(page - 1) * per_page : page * per_page]
        body["files"] = [rest.file_json(api, repo, f, commit["oid"]) for f in chosen]
        headers: dict[str, str] = {}
        last_page = max(1, -(-len(files) // per_page))
        link_params = {k: v for k, v in params.items() if k != "page"}
        url = f"{api}/repos/{repo.full_name}/commits/{ref}"
        if link := rest.link_header(url, link_params, page, last_page):
            headers["Link"] = link
        return 200, body, headers

    # --- GitHub App installation tokens --------------------------------------------------------

    def _app_token(self, jwt_token: str | None) -> int:
        hub = self.hub
        headers = Budget("core", 5000, 0, int(hub.clock()) + 3600).headers()
        problem = _jwt_problem(jwt_token, hub.clock(), hub.app_public_key)
        if problem:
            self._send(401, {"message": problem, "documentation_url": REST_DOCS}, headers)
            return 401
        token, expires = hub.issue_installation_token()
        self._send(
            201,
            {
                "token": token,
                "expires_at": iso(expires),
                "permissions": {"checks": "read", "metadata": "read", "pull_requests": "read"},
                "repository_selection": "all",
            },
            headers,
        )
        return 201

    # --- control API ---------------------------------------------------------------------------

    def _control(self, path: str, raw: bytes) -> None:
        hub = self.hub
        try:
            payload = json.loads(raw) if raw else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._send(400, {"message": f"invalid JSON body: {exc}"})
            return
        try:
            status, body = self._control_route(path, payload)
        except (
            StoreError,
            DatasetError,
            FaultProfileError,
            ValueError,
            TypeError,
            KeyError,
        ) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            status, body = (
                (404 if "not served" in message or "not found" in message else 400),
                {"message": message},
            )
        del hub
        self._send(status, body)

    def _control_route(self, path: str, payload: Any) -> tuple[int, Any]:
        hub = self.hub
        method = self.command
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


def _moved(
    api: str, full_name: str, rest_path: str, request_path: str
) -> tuple[int, Any, dict[str, str]]:
    """A renamed repository's former path: 301 to the same resource under the new name.

    docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#follow-
    redirects: a 301 is a permanent redirection, the Location header holds the URL to use from
    then on; GitHub answers so for a repository that was renamed or transferred. (GitHub's
    Location may name the repository by id, /repositories/{id}/...; a client follows it
    whatever it is.)
    """
    query = urlsplit(request_path).query
    location = f"{api}/repos/{full_name}{rest_path}" + (f"?{query}" if query else "")
    body = {
        "message": "Moved Permanently",
        "url": location,
        "documentation_url": (
            "https://docs.github.com/rest/using-the-rest-api/"
            "best-practices-for-using-the-rest-api#follow-redirects"
        ),
    }
    return 301, body, {"Location": location}


def commit_index(repo: Any) -> dict[str, tuple[int, int]]:
    """{commit SHA: (PR number, index in its commits)} of `repo`, cached per repository version;
    the caller holds the store's lock."""
    cached = getattr(repo, "_commit_index", None)
    if cached is not None and cached[0] == repo.version:
        return cached[1]
    index = {
        commit["oid"].lower(): (number, position)
        for number, pr in repo.prs.items()
        for position, commit in enumerate(pr["commits"])
    }
    repo._commit_index = (repo.version, index)
    return index


def _limit_values(budget: Budget) -> dict[str, int]:
    return {
        "limit": budget.limit,
        "remaining": budget.remaining,
        "reset": budget.reset_at,
        "used": min(budget.used, budget.limit),
    }


def _bearer(header: str | None) -> str | None:
    """The token of `Authorization: bearer|token TOKEN` (case-insensitive scheme)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "token"):
        return None
    return value.strip() or None


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.strip('"')
    return any(
        candidate.strip().removeprefix("W/").strip('"') == bare for candidate in header.split(",")
    )


def _normal_since(since: str) -> str:
    """An ISO 8601 `since` as GitHub's `YYYY-MM-DDTHH:MM:SSZ` (comparable as text)."""
    try:
        parsed = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return since
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _validation_error(field: str, value: str) -> tuple[int, Any, dict[str, str]]:
    return (
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": "Issue", "field": field, "code": "invalid", "value": value}],
            "documentation_url": REST_DOCS,
        },
        {},
    )


def _jwt_problem(token: str | None, now: float, public_key: str | None) -> str | None:
    """Why a GitHub App JWT is refused, or None when it is acceptable."""
    bad = "A JSON web token could not be decoded"
    if not token or token.count(".") != 2:
        return bad
    head, body, _ = token.split(".")
    try:
        header, claims = _b64json(head), _b64json(body)
    except (ValueError, UnicodeDecodeError):
        return bad
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        return bad
    if not isinstance(claims, dict) or "iss" not in claims:
        return "'Issuer' claim ('iss') must be an Integer"
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= now:
        return (
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires"
        )
    if public_key:
        import jwt

        try:
            jwt.decode(
                token,
                public_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return bad
    return None


def _inject_partial_error(body: dict[str, Any]) -> bool:
    """Null one PR node's nested field and add an `errors` entry at its path (GitHub's partial
    answer); returns False when the data holds no PR node."""
    found = _find_pr(body.get("data"), [])
    if found is None:
        return False
    node, path = found
    for key in ("files", "commits", "reviews", "labels", "statusCheckRollup", "mergedBy", "author"):
        # Field keys may be aliased; pick one that holds a value.
        if key in node and node[key] is not None:
            node[key] = None
            error_path = [*path, key]
            break
    else:
        return False
    errors = body.setdefault("errors", [])
    errors.append(
        {
            "type": "SERVICE_UNAVAILABLE",
            "path": error_path,
            "locations": [],
            "message": GRAPHQL_502.format(id=secrets.token_hex(4).upper()),
        }
    )
    return True


FORBIDDEN_MESSAGE = "Resource not accessible by integration"
SCOPES_MESSAGE = (
    "Your token has not been granted the required scopes to execute this query. The '{field}' "
    "field requires one of the following scopes: ['repo'], but your token has only been granted "
    "the: ['public_repo'] scopes. Please modify your token's scopes at: "
    "https://github.com/settings/tokens."
)


def _refuse_field(body: dict[str, Any], field_path: str, error_type: str) -> bool:
    """Null `field_path` (dotted) in every PR node of the answer, one error per node at its path.

    What GitHub answers a token lacking the permission for a field: HTTP 200, the data it may
    read, `null` for the field and an error of type FORBIDDEN (an App installation or
    fine-grained token without the permission) or INSUFFICIENT_SCOPES (a classic PAT without
    the scope) naming the field's path. GitHub documents that GraphQL access depends on the
    App's permissions (docs.github.com/apps/creating-github-apps/registering-a-github-app/
    choosing-permissions-for-a-github-app, "Choosing permissions for GraphQL API access") but
    not its error types (github/docs#11071); the shape follows the GraphQL spec (section 7.1.2,
    "Errors": a field error nulls the field and carries its path) and answers GitHub gives.
    Returns whether a field was refused.
    """
    parts = field_path.split(".")
    refused = False
    for node, path in _all_prs(body.get("data"), []):
        holder: Any = node
        for part in parts[:-1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or parts[-1] not in holder:
            continue
        holder[parts[-1]] = None
        error: dict[str, Any] = {"type": error_type, "path": [*path, *parts], "locations": []}
        if error_type == "FORBIDDEN":
            error["extensions"] = {"saml_failure": False}
            error["message"] = FORBIDDEN_MESSAGE
        else:
            error["message"] = SCOPES_MESSAGE.format(field=parts[-1])
        body.setdefault("errors", []).append(error)
        refused = True
    return refused


def _all_prs(value: Any, path: list[Any]) -> Iterable[tuple[dict[str, Any], list[Any]]]:
    """Every PR node (with its path) in an answer's data."""
    if isinstance(value, dict):
        if "number" in value and ("title" in value or "files" in value or "commits" in value):
            yield value, path
            return
        for key, child in value.items():
            yield from _all_prs(child, [*path, key])
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _all_prs(child, [*path, index])


def _find_pr(value: Any, path: list[Any]) -> tuple[dict[str, Any], list[Any]] | None:
    if isinstance(value, dict):
        if "number" in value and ("title" in value or "files" in value or "commits" in value):
            return value, path
        for key, child in value.items():
            found = _find_pr(child, [*path, key])
            if found:
                return found
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found = _find_pr(child, [*path, index])
            if found:
                return found
    return None
