"""Helpers shared by the benchmarks: child processes measured, fakehub as a subprocess, the machine.

Benchmarks are not tests: nothing here runs under `make test`. Every figure a bench prints comes
from a real run: requests and points from fakehub's own accounting (`GET /_fakehub/stats`), wall
time from a monotonic clock around the child process, peak RSS from the kernel's rusage of that
one child (`os.wait4`), never estimated.

Size: over 400 lines because it is the one place every bench measures with: the measured child
run, the fakehub subprocess and its control API, the result row and the machine description;
one copy of each, so the figures of different benches compare.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fakehub.reference import shared_dir

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SHARED_DATA = shared_dir() / "data"  # $PRHARVEST_SHARED_DIR, else ../shared
OUT_DIR = BENCH_DIR / "out"  # gitignored: raw JSON results, logs, scratch databases
PEERS_DIR = BENCH_DIR / "peers"  # gitignored: the peers' own venvs, never project dependencies

LISTENING = re.compile(r"fakehub listening on (http://\S+)")

# The one token every bench sends to fakehub: fakehub accepts any non-empty token by default.
BENCH_TOKEN = "bench-token-not-a-secret"


class BenchError(RuntimeError):
    """A bench could not run (a part missing, a child failed); the message says which and why."""


@dataclass
class ChildRun:
    """What one child process did: exit code, wall time, peak RSS, and where its output went."""

    argv: list[str]
    returncode: int
    wall_seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def tail(self, lines: int = 15) -> str:
        """The last lines of stderr then stdout, for a one-glance failure report."""
        text = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        return "\n".join(text.splitlines()[-lines:])


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO_ROOT,
    timeout: float = 900.0,
    stdin_text: str | None = None,
    stdout_path: Path | None = None,
) -> ChildRun:
    """Run argv to completion and measure it: wall seconds and the child's own peak RSS.

    Peak RSS comes from `os.wait4`, i.e. the kernel's rusage of this child (and the children it
    waited for), in MiB; Linux reports `ru_maxrss` in KiB. A child still running after `timeout`
    seconds has its whole process group killed and is reported as timed out. With
    `stdout_path`, stdout goes to that file (large outputs) and `ChildRun.stdout` is empty.
    """
    full_env = dict(os.environ if env is None else env)
    if stdout_path is not None:
        stdout_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        (
            stdout_path.open("w+", encoding="utf-8", errors="replace")
            if stdout_path is not None
            else tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        ) as out,
        tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as err,
    ):
        stdin = subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=full_env,
            stdin=stdin,
            stdout=out,
            stderr=err,
            start_new_session=True,  # so a timeout can kill the child's whole group
        )
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            _kill_group(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, _kill)
        timer.start()
        try:
            if stdin_text is not None and proc.stdin is not None:
                try:
                    proc.stdin.write(stdin_text.encode())
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(
            argv=list(argv),
            returncode=proc.returncode,
            wall_seconds=wall,
            peak_rss_mb=usage.ru_maxrss / 1024.0,
            stdout="" if stdout_path is not None else out.read(),
            stderr=err.read(),
            timed_out=timed_out.is_set(),
        )


def _kill_group(pid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class FakehubServer:
    """fakehub as a subprocess (`python -m fakehub serve --port 0 ...`), driven over HTTP.

    The server is ready once it prints `fakehub listening on http://HOST:PORT`; the control API
    (`/_fakehub/*`, no token) is used for stats, data and live changes, as documented in
    docs/ARCHITECTURE.md.
    """

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        python: str = sys.executable,
        log_path: Path | None = None,
        ready_timeout: float = 300.0,
    ) -> None:
        self.args = list(args)
        self.python = python
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.url = ""
        self.started_at = 0.0
        self._proc: subprocess.Popen[str] | None = None
        self._http: httpx.Client | None = None
        self._drain: threading.Thread | None = None

    def start(self) -> FakehubServer:
        """Start the server and wait for its listening line; raise BenchError if it never comes."""
        argv = [self.python, "-m", "fakehub", "serve", "--port", "0", *self.args]
        stderr: Any = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            stderr = self.log_path.open("a", encoding="utf-8")
        self._proc = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        found: list[str] = []
        seen: list[str] = []
        ready = threading.Event()

        def _read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:  # keeps draining after ready, so the pipe never fills
                if not ready.is_set():
                    seen.append(line.rstrip())
                    match = LISTENING.search(line)
                    if match:
                        found.append(match.group(1))
                        ready.set()
            ready.set()

        self._drain = threading.Thread(target=_read, daemon=True)
        self._drain.start()
        ready.wait(self.ready_timeout)
        if not found:
            self.stop()
            said = " | ".join(seen[-5:]) or "nothing"
            raise BenchError(f"fakehub did not start ({' '.join(argv[2:])}): it said {said}")
        self.url = found[0].rstrip("/")
        self.started_at = time.time()
        self._http = httpx.Client(base_url=self.url, timeout=600.0)
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 10 s."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._proc is None:
            return
        if self._proc.poll() is None:
            _kill_group(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                _kill_group(self._proc.pid, signal.SIGKILL)
                self._proc.wait(10)
        self._proc = None

    def __enter__(self) -> FakehubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- control API -------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            raise BenchError("fakehub is not running")
        return self._http

    def control(self, method: str, path: str, payload: Any = None) -> Any:
        """Call the control API; raise BenchError with fakehub's answer on a non-2xx status."""
        response = self._client().request(method, path, json=payload)
        if response.status_code >= 300:
            raise BenchError(
                f"fakehub {method} {path} answered {response.status_code}: {response.text[:300]}"
            )
        return response.json() if response.content else None

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "/_fakehub/stats")

    def reset_stats(self) -> None:
        self.control("POST", "/_fakehub/stats/reset")

    def add_synthetic(self, full_name: str, prs: int, seed: int = 1) -> None:
        self.control("POST", "/_fakehub/repos", {"synthetic": full_name, "prs": prs, "seed": seed})

    def load_data(self, path: Path) -> None:
        self.control("POST", "/_fakehub/repos", {"data": str(path)})

    def upsert_pr(self, full_name: str, node: Mapping[str, Any]) -> Any:
        return self.control("POST", f"/_fakehub/repos/{full_name}/pulls", dict(node))

    def push(self, full_name: str) -> None:
        self.control("POST", f"/_fakehub/repos/{full_name}/push")

    def set_limits(self, **limits: int) -> None:
        self.control("POST", "/_fakehub/limits", limits)


@contextmanager
def fakehub(args: Sequence[str] = (), **kwargs: Any) -> Iterator[FakehubServer]:
    """A running fakehub subprocess for the duration of the block."""
    server = FakehubServer(args, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


STAT_KEYS = (
    "requests",
    "graphql_requests",
    "rest_requests",
    "not_modified",
    "graphql_points",
    "rest_points",
    "rate_limited_responses",
)


def spent(stats: Mapping[str, Any]) -> dict[str, int]:
    """The accounting figures a bench reports, from one `/_fakehub/stats` answer."""
    return {key: int(stats.get(key, 0) or 0) for key in STAT_KEYS}


@dataclass
class Row:
    """One measured line of a results table."""

    bench: str
    tool: str
    dataset: str
    scenario: str
    prs: int | None = None
    requests: int | None = None
    graphql_requests: int | None = None
    rest_requests: int | None = None
    not_modified: int | None = None
    graphql_points: int | None = None
    rest_points: int | None = None
    wall_seconds: float | None = None
    peak_rss_mb: float | None = None
    ok: bool = True
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def with_stats(self, stats: Mapping[str, Any]) -> Row:
        for key, value in spent(stats).items():
            if hasattr(self, key):
                setattr(self, key, value)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def machine() -> dict[str, str]:
    """The machine a run happened on: CPUs, memory, CPU model, Python, OS, git commit."""
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "nproc": str(os.cpu_count() or "?"),
        "affinity": str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "?",
        "memory": memory,
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "commit": commit or "unknown",
    }


def ensure_venv(path: Path, requirements: Sequence[str], *, timeout: float = 900.0) -> Path:
    """A venv at `path` with `requirements` installed (pip from PyPI); returns its python.

    Created once and reused: a stamp file records what was installed, so a changed pin
    reinstalls. These venvs live under bench/peers/ (gitignored) and are never project
    dependencies.
    """
    python = path / "bin" / "python"
    stamp = path / ".bench-installed"
    wanted = "\n".join(requirements)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        made = run_child([sys.executable, "-m", "venv", str(path)], timeout=timeout)
        if not made.ok:
            raise BenchError(f"could not create the venv {path}: {made.tail(3)}")
    installed = run_child(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        timeout=timeout,
    )
    if not installed.ok:
        raise BenchError(f"pip install {' '.join(requirements)} failed: {installed.tail(3)}")
    stamp.write_text(wanted)
    return python


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically (a temp file renamed over the target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the results."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
