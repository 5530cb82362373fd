"""Accounting (stats, per-token hashes, in-flight, request log) and the command line."""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import subprocess
import sys
import threading

import httpx

from fakehub.control import FakeHubControl
from fakehub.reference import shared_dir
from fakehub.testing import start_fakehub_process
from fakehub.tests.conftest import TOKEN

DATA = shared_dir() / "data"
QUERY = '{ repository(owner: "acme", name: "rocket") { pushedAt } }'


def test_stats_count_requests_points_and_not_modified(fakehub_factory, api_for):
    hub = fakehub_factory(synthetic=["acme/rocket:5"])
    api = api_for(hub)
    api.graphql(QUERY)
    api.graphql(QUERY)
    etag = api.get("/repos/acme/rocket").headers["etag"]
    api.get("/repos/acme/rocket", headers={"If-None-Match": etag})
    api.get("/rate_limit")
    stats = hub.stats()
    expected = {
        "requests": 5,
        "graphql_requests": 2,
        "rest_requests": 3,
        "not_modified": 1,
        "graphql_points": 2,
        "rest_points": 1,
        "rate_limited_responses": 0,
        "requests_while_limited": 0,
        "faults_injected": 0,
        "max_in_flight_per_token": 1,
    }
    assert {key: stats[key] for key in expected} == expected
    token_key = hashlib.sha256(TOKEN.encode()).hexdigest()[:16]
    assert stats["per_token"][token_key]["graphql_points"] == 2
    assert TOKEN not in json.dumps(stats)
    hub.reset_stats()
    assert hub.stats()["requests"] == 0


def test_stats_record_the_most_requests_in_flight_for_one_token(fakehub_factory):
    hub = fakehub_factory(
        synthetic=["acme/rocket:2"],
        faults={"rules": [{"fault": "slow", "seconds": 0.5, "every": 1}]},
    )
    barrier = threading.Barrier(3)

    def call() -> None:
        barrier.wait()
        httpx.get(
            hub.url + "/repos/acme/rocket", headers={"Authorization": "token same"}, timeout=60
        )

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hub.stats()["max_in_flight_per_token"] >= 2


def test_the_request_log_has_one_json_line_per_request_without_tokens(
    fakehub_factory, api_for, tmp_path
):
    log = tmp_path / "requests.jsonl"
    hub = fakehub_factory(synthetic=["acme/rocket:2"], request_log=str(log))
    api = api_for(hub)
    api.graphql(
        'query($o: String!) { repository(owner: $o, name: "rocket") { id } }', {"o": "acme"}
    )
    api.get("/repos/acme/rocket")
    api_for(hub, token=None).get("/rate_limit")
    hub.server.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["method"], e["status"], e["cost"]) for e in lines] == [
        ("POST", 200, 1),
        ("GET", 200, 1),
        ("GET", 401, 0),
    ]
    assert lines[0]["variables"] == {"o": "acme"}
    assert "repository(owner: $o" in lines[0]["query"]
    assert lines[0]["token"] == hashlib.sha256(TOKEN.encode()).hexdigest()[:16]
    assert all({"time", "path", "token"} <= set(e) for e in lines)
    assert TOKEN not in log.read_text()


def test_the_control_api_needs_no_token(fakehub):
    assert httpx.get(fakehub.url + "/_fakehub/stats").status_code == 200


def test_the_command_serves_a_dataset_and_exits_0_on_sigterm(tmp_path):
    log = tmp_path / "log.jsonl"
    process, url = start_fakehub_process(
        ["--data", str(DATA / "antiwork-gumroad"), "--synthetic", "acme/rocket:5:2",
         "--request-log", str(log), "--graphql-points", "100"]
    )  # fmt: skip
    try:
        assert url.startswith("http://127.0.0.1:")
        response = httpx.post(
            url + "/graphql",
            json={"query": '{ rateLimit { cost limit } repository(owner: "antiwork", name: "gumroad") '
                  "{ pullRequests(first: 5) { totalCount nodes { number } } } }"},
            headers={"Authorization": "bearer x"},
        )  # fmt: skip
        data = response.json()["data"]
        assert data["rateLimit"] == {"cost": 1, "limit": 100}
        assert data["repository"]["pullRequests"]["totalCount"] == 10
        control = FakeHubControl(url)
        assert control.stats()["graphql_points"] == 1
        control.add_synthetic("acme/more", 3)
        control.close()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert err == ""
    assert log.read_text().count("\n") == 1


def test_the_command_prints_exactly_one_listening_line_and_stops_on_sigint():
    process, url = start_fakehub_process([])
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert out == ""  # the listening line was the only one, and start_fakehub_process read it
    assert url.startswith("http://")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fakehub", *args], capture_output=True, text=True, timeout=120
    )


def test_the_command_refuses_bad_flags_in_one_line_with_exit_2(tmp_path):
    bad_faults = tmp_path / "faults.json"
    bad_faults.write_text('{"rules": [{"fault": "nope"}]}')
    for args in (
        ["serve", "--port", "abc"],
        ["serve", "--synthetic", "nonsense"],
        ["serve", "--bogus"],
        ["serve", "--data", str(tmp_path / "missing")],
        ["serve", "--faults", str(bad_faults)],
        ["serve", "--tokens", str(tmp_path / "no-tokens")],
        [],
    ):
        result = run_cli(*args)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_stats_read_right_after_each_answer_already_count_it(fakehub_factory, tmp_path):
    # Everything a test reads is recorded before the first byte of the answer leaves: a client
    # that reads /_fakehub/stats (or the request log) as soon as it has its answer sees it.
    log_path = tmp_path / "requests.jsonl"
    hub = fakehub_factory(
        synthetic=["acme/rocket:3"],
        faults={"rules": [{"fault": "drop", "every": 7, "path": "/repos/acme/rocket/pulls"}]},
        request_log=str(log_path),
    )
    expected: dict[str, int] = {}
    with (
        httpx.Client(base_url=hub.url, headers={"Authorization": f"token {TOKEN}"}) as http,
        httpx.Client(base_url=hub.url) as anonymous,
    ):
        etag = http.get("/repos/acme/rocket").headers["etag"]
        expected["200"] = 1
        for index in range(240):
            kind = index % 6
            if kind == 0:
                status = http.post("/graphql", json={"query": QUERY}).status_code
            elif kind == 1:
                status = http.get("/repos/acme/rocket", headers={"If-None-Match": etag}).status_code
            elif kind == 2:
                status = anonymous.get("/repos/acme/rocket").status_code
            elif kind == 3:
                status = http.get("/repos/acme/missing").status_code
            elif kind == 4:
                try:
                    status = http.get("/repos/acme/rocket/pulls").status_code
                except httpx.TransportError:
                    status = 0  # dropped by the fault: no answer at all
            else:
                status = http.get("/rate_limit").status_code
            expected[str(status)] = expected.get(str(status), 0) + 1
            stats = hub.stats()
            assert stats["statuses"] == expected, f"request {index}"
            assert stats["requests"] == index + 2
            assert len(log_path.read_text().splitlines()) == index + 2
    assert set(expected) == {"0", "200", "304", "401", "404"}
    assert stats["not_modified"] == 40 and stats["faults_injected"] == 40 // 7


def test_serve_help_explains_every_option():
    from fakehub.cli import build_parser

    parser = build_parser()
    serve = next(
        action.choices["serve"]
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    options = [a for a in serve._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 15  # --ghes and --server-time among them
    assert [a.option_strings[0] for a in options if not (a.help or "").strip()] == []
    text = serve.format_help()
    assert all(a.option_strings[0] in text for a in options)
