"""fakehub's command line: `python -m fakehub serve [options]`.

Prints exactly `fakehub listening on http://HOST:PORT` once ready, serves until SIGTERM or
SIGINT, then exits 0. Bad flags or input: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from fakehub.datasets import DatasetError
from fakehub.faults import FaultProfileError, load_profile
from fakehub.server import FakeHub, parse_synthetic
from fakehub.server_time import ServerTimeError, parse_server_time

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, exit 2 (argparse would print the usage first)."""
        sys.stderr.write(f"fakehub: error: {message}\n")
        raise SystemExit(2)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _synthetic(text: str) -> tuple[str, int, int]:
    try:
        return parse_synthetic(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--synthetic ")) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fakehub", description="An offline GitHub API emulator.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser(
        "serve",
        help="serve GitHub's GraphQL and REST APIs",
        description=(
            "Serve GitHub's GraphQL API (POST /graphql) and REST API on HOST:PORT until SIGTERM "
            "or Ctrl-C, with GitHub's rate limits and costs. Prints 'fakehub listening on URL' "
            "once ready. Counts every request and point: GET /_fakehub/stats."
        ),
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=_positive_int, default=0, help="the port to listen on; 0 picks a free one"
    )
    serve.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="DIR",
        help="a recorded dataset folder to serve (e.g. ../shared/data/pallets-flask); repeatable",
    )
    serve.add_argument(
        "--synthetic",
        action="append",
        default=[],
        type=_synthetic,
        metavar="OWNER/NAME:PRS[:SEED]",
        help=(
            "a generated repository with PRS pull requests, the same for the same SEED "
            "(default seed 1); repeatable"
        ),
    )
    serve.add_argument(
        "--request-log",
        metavar="FILE",
        help="append one JSON line per request to FILE (a token's hash, never the token)",
    )
    serve.add_argument(
        "--faults",
        metavar="FILE",
        help=(
            "a JSON fault profile: which requests fail and how (5xx, slow, dropped, secondary "
            "limits, ...), deterministic under its seed; see fakehub/faults.py"
        ),
    )
    serve.add_argument(
        "--graphql-points",
        type=_positive_int,
        default=5000,
        help="GraphQL points per token per window, GitHub's primary limit (default: %(default)s)",
    )
    serve.add_argument(
        "--core-requests",
        type=_positive_int,
        default=5000,
        help="REST (core) requests per token per window (default: %(default)s)",
    )
    serve.add_argument(
        "--reset-seconds",
        type=_positive_float,
        default=3600.0,
        help="length of a rate-limit window, in seconds (default: %(default)s)",
    )
    serve.add_argument(
        "--latency-ms",
        type=_positive_float,
        default=0.0,
        help="added delay before every answer, in milliseconds (default: %(default)s)",
    )
    serve.add_argument(
        "--tokens",
        metavar="FILE",
        help="the only tokens accepted, one a line (default: any token is accepted)",
    )
    serve.add_argument(
        "--installation-token-seconds",
        type=_positive_float,
        default=3600.0,
        help="lifetime of the App installation tokens it issues, in seconds (default: %(default)s)",
    )
    serve.add_argument(
        "--app-public-key",
        metavar="FILE",
        help="a PEM public key: GitHub App JWTs are verified with it (default: not verified)",
    )
    serve.add_argument(
        "--ghes",
        action="store_true",
        help="GitHub Enterprise Server's layout: REST under /api/v3, GraphQL at /api/graphql",
    )
    serve.add_argument(
        "--server-time",
        metavar="on|KEY=VALUE,...",
        help="model GitHub's query time (base_ms, per_node_ms, limit_seconds, scale): "
        "time grows with the nodes returned; past the limit, a 502",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "data": args.data,
        "synthetic": args.synthetic,
        "request_log": args.request_log,
        "graphql_points": args.graphql_points,
        "core_requests": args.core_requests,
        "reset_seconds": args.reset_seconds,
        "latency_ms": args.latency_ms,
        "tokens": args.tokens,
        "installation_token_seconds": args.installation_token_seconds,
        "ghes": args.ghes,
    }
    try:
        if args.faults:
            options["faults"] = load_profile(args.faults)
        if args.server_time is not None:
            options["server_time"] = parse_server_time(args.server_time)
        if args.app_public_key:
            with open(args.app_public_key, encoding="utf-8") as handle:
                options["app_public_key"] = handle.read()
        hub = FakeHub(**options)
        # The loaded data is millions of long-lived objects: keep the cyclic GC from walking
        # them on every full collection (pauses of a second with 10,000 PRs).
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        hub.start()
    except (DatasetError, FaultProfileError, ServerTimeError, ValueError, OSError) as exc:
        sys.stderr.write(f"fakehub: error: {' '.join(str(exc).split())}\n")
        return 2
    done = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"fakehub listening on {hub.url}", flush=True)
    while not done.wait(0.5):
        pass
    hub.stop()
    return 0
