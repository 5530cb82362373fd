"""fakehub's HTTP plumbing: a threaded server, one handler per connection, one dispatch.

The handler reads a request, sends `/_fakehub/*` to the control routes and everything else to
the API routes (both given to `Server` by `FakeHub.start`), and owns what happens on the wire:
sending an answer, dropping a connection, sleeping while watching for a client that hangs up.

Accounting of what a client is blamed for, kept here because it hangs on when bytes leave:
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

import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fakehub.accounting import Flight

if TYPE_CHECKING:
    from fakehub.server import FakeHub

__all__ = ["Answer", "ApiRoute", "ControlRoute", "Handler", "Hangup", "Server"]

JSON = "application/json; charset=utf-8"
# How often a sleeping handler (latency, slow fault) looks whether its client hung up.
WATCH_SECONDS = 0.05
_PEEK_FLAGS = socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)

# (handler, path, query, body): answers one API request through the handler.
ApiRoute = Callable[["Handler", str, str, bytes], None]
# (hub, method, path, body) -> (status, JSON body) of one control request.
ControlRoute = Callable[["FakeHub", str, str, bytes], tuple[int, Any]]


class Answer(Exception):
    """Raised inside a handler to send one response at once (status 0: drop the connection)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class Hangup(Exception):
    """Raised inside a handler whose wait ended without an answer to send: the client hung up
    (status 499) or fakehub is stopping (status 0)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Server(ThreadingHTTPServer):
    """The listening socket, the open connections (closed by `FakeHub.stop`) and the routes."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], hub: FakeHub, *, api: ApiRoute, control: ControlRoute
    ) -> None:
        self.hub = hub
        self.api = api
        self.control = control
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        # Nagle + delayed ACK would add ~40 ms per keep-alive request.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address


class Handler(BaseHTTPRequestHandler):
    """One connection's requests (HTTP/1.1 keep-alive), one at a time."""

    protocol_version = "HTTP/1.1"
    server: Server
    # The current API request while it counts as in flight, and the limit window its answer
    # tells the client of ((token, scope, until), noted when the answer is sent).
    flight: Flight | None = None
    limit_note: tuple[str, str, float] | None = None
    # The current API request's request-log entry until its status is recorded (settle).
    record: dict[str, Any] | None = None
    # When the current request arrived (perf_counter): its answer time is counted at settle.
    arrived: float = 0.0
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

    @property
    def hub(self) -> FakeHub:
        return self.server.hub

    def _handle(self) -> None:
        """The one dispatch: control routes below /_fakehub, the API everywhere else."""
        self.arrived = time.perf_counter()
        try:
            split = urlsplit(self.path)
            body = self._read_body()
            if split.path.startswith("/_fakehub/") or split.path == "/_fakehub":
                self.send(*self.server.control(self.hub, self.command, split.path, body))
                return
            self.server.api(self, split.path, split.query, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a fakehub bug: answer as GitHub does, never a traceback on stderr
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.send(500, {"message": "Server Error"})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> bytes:
        """Answer `status` with `body` (JSON-encoded unless bytes; none for a 304)."""
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
        self.settle(status)
        note, self.limit_note = self.limit_note, None
        if note is not None:
            self.hub.accounting.note_limited(*note)
        self.land()

    def settle(self, status: int) -> None:
        """Record the current API request's status in the stats and the request log, once.

        Called before any byte of the answer (or the hang-up) reaches the client, so a client
        reading the stats as soon as it has its answer finds the request counted.
        """
        record, self.record = self.record, None
        if record is None:
            return
        self.hub.accounting.status(status)
        # From arrival to an answer ready to send: the emulated latency and fakehub's own work
        # on the request, i.e. the request's latency as a client sees it, less the socket time.
        answer_ms = (time.perf_counter() - self.arrived) * 1000
        self.hub.accounting.add(record.get("token"), answer_ms=round(answer_ms))
        record["status"] = status
        if self.hub.request_log is not None:
            self.hub.request_log.write(record)

    def land(self) -> None:
        """The current request stops counting as in flight (once)."""
        flight, self.flight = self.flight, None
        if flight is not None:
            flight.land()

    def drop(self, status: int) -> None:
        """Close the connection without a response (a dropped connection); `status` is what the
        stats record: 0 for a drop, 499 for a client that hung up first."""
        self.close_connection = True
        # Record and land first: the client sees the hang-up at once and may retry at once.
        self.settle(status)
        self.land()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def client_gone(self) -> bool:
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

    def wait(self, seconds: float) -> None:
        """Sleep `seconds` as a slow GitHub would, watching the connection; Hangup when the
        client hangs up (GitHub would see the request abandoned) or fakehub stops."""
        deadline = time.monotonic() + seconds
        while True:
            if self.hub.stopping.is_set():
                raise Hangup(0)
            if self.client_gone():
                raise Hangup(499)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.hub.stopping.wait(min(remaining, WATCH_SECONDS))

    def base_url(self) -> str:
        """The root the client called (its Host header), for URLs in answers."""
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.hub.url
