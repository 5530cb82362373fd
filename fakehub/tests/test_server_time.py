"""fakehub's server-time model: a query takes time growing with the nodes it returns, and past
GitHub's limit it is answered 502 after the limit, with its points spent (server_time.py)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from fakehub.server_time import ServerTime, ServerTimeError, parse_server_time, returned_nodes
from fakehub.tests.conftest import TOKEN, Api

PAGE = """
query($first: Int!) {
  repository(owner: "acme", name: "rocket") {
    pullRequests(first: $first) {
      nodes { number commits(first: 100) { nodes { commit { oid } } }
              files(first: 100) { nodes { path } } }
    }
  }
}
"""


def nodes_of(api: Api, first: int) -> int:
    return returned_nodes(api.data(PAGE, {"first": first}))


def test_time_grows_with_the_nodes_returned_and_is_counted_unscaled(fakehub_factory):
    model = ServerTime(base_ms=100, per_node_ms=2, limit_seconds=10, scale=0.01)
    plain = fakehub_factory(synthetic=["acme/rocket:40:3"])
    timed = fakehub_factory(synthetic=["acme/rocket:40:3"], server_time=model)
    small, large = nodes_of(Api(plain, TOKEN), 2), nodes_of(Api(plain, TOKEN), 20)
    assert 0 < small < large

    api = Api(timed, TOKEN)
    started = time.monotonic()
    api.data(PAGE, {"first": 20})
    took = time.monotonic() - started

    stats = timed.stats()
    assert stats["server_time_ms"] == round(100 + 2 * large)
    assert stats["server_timeouts"] == 0
    assert took >= (100 + 2 * large) / 1000 * 0.01  # slept the scaled time
    timed.reset_stats()
    api.data(PAGE, {"first": 2})
    assert timed.stats()["server_time_ms"] == round(100 + 2 * small)
    api.close()


def test_a_query_past_the_limit_is_answered_502_at_the_limit_and_its_points_are_spent(
    fakehub_factory,
):
    # 4 ms a node, a 1 s limit: 20 PRs with their commits and files are too many, 2 are not.
    model = ServerTime(base_ms=0, per_node_ms=4, limit_seconds=1.0, scale=0.2)
    hub = fakehub_factory(synthetic=["acme/rocket:40:3"], server_time=model)
    api = Api(hub, TOKEN)

    started = time.monotonic()
    answer = api.graphql(PAGE, {"first": 20})
    took = time.monotonic() - started

    assert answer.status_code == 502
    assert "This may be the result of a timeout" in answer.json()["errors"][0]["message"]
    assert took >= 1.0 * 0.2  # the answer came once the (scaled) limit had passed
    stats = hub.stats()
    assert stats["server_timeouts"] == 1
    assert stats["server_time_ms"] == 1000
    assert stats["graphql_points"] >= 1  # GitHub counts timed-out queries against the limit
    assert api.graphql(PAGE, {"first": 2}).status_code == 200
    api.close()


def test_time_follows_the_nodes_returned_not_the_first_argument(fakehub_factory):
    model = ServerTime(base_ms=0, per_node_ms=4, limit_seconds=1.0, scale=0.01)
    hub = fakehub_factory(synthetic=["acme/rocket:3:3"], server_time=model)
    api = Api(hub, TOKEN)
    # first: 100 on a repository of 3 PRs returns 3 PRs' nodes: well under the limit.
    assert api.graphql(PAGE, {"first": 100}).status_code == 200
    assert hub.stats()["server_timeouts"] == 0
    api.close()


def test_returned_nodes_counts_every_object_of_every_nodes_and_edges_list():
    data = {
        "repository": {
            "pullRequests": {
                "nodes": [
                    {"commits": {"nodes": [{"commit": {"oid": "a"}}, {"commit": {"oid": "b"}}]}},
                    {"commits": {"nodes": []}, "labels": {"edges": [{"node": {"name": "x"}}]}},
                ]
            }
        }
    }
    assert returned_nodes(data) == 5
    assert returned_nodes(None) == 0


def test_options_are_parsed_and_bad_ones_refused_in_one_line():
    assert parse_server_time("on") == ServerTime()
    assert parse_server_time("scale=0.05, per_node_ms=3") == ServerTime(scale=0.05, per_node_ms=3)
    for bad in ("scale", "speed=2", "scale=fast", "limit_seconds=0", "base_ms=-1"):
        with pytest.raises(ServerTimeError) as caught:
            parse_server_time(bad)
        assert "\n" not in str(caught.value)


def test_the_command_takes_a_server_time_flag_and_refuses_a_bad_one_with_exit_2():
    bad = subprocess.run(
        [sys.executable, "-m", "fakehub", "serve", "--server-time", "speed=2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "unknown key(s) speed" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_command_serves_with_the_server_time_model():
    from fakehub.control import FakeHubControl
    from fakehub.testing import start_fakehub_process

    process, url = start_fakehub_process(
        ["--synthetic", "acme/rocket:5", "--server-time", "scale=0.01,per_node_ms=3"]
    )
    try:
        control = FakeHubControl(url)
        api = Api(control, TOKEN)
        api.data(PAGE, {"first": 5})
        assert control.stats()["server_time_ms"] > 250
        api.close()
        control.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
