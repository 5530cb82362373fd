"""GitHubGraphQLClient over real HTTP against fakehub: completeness, cost, retries, limits.

Time moves through the clock seam: an `InstantClock` shared with fakehub (its `clock=` option)
so waits take no real time and fakehub judges "too early" on the same virtual time.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import pytest

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.clock import InstantClock, SystemClock
from apps.integrations.github.coordination import LocalCoordinator, token_key
from apps.integrations.github.errors import (
    BadCredentials,
    GitHubError,
    GraphQLFailed,
    NotFound,
    RateLimited,
    SecondaryRateLimited,
    ServerError,
    TransportFailed,
)
from apps.integrations.github.queries import PAGE_SIZE
from apps.integrations.github.retry import RetryPolicy
from apps.integrations.github.tokens import TokenPool
from apps.metrics.pipeline.fetched import FetchedPRFull

TOKEN = "ghp_" + "fakehubtoken1234567890abcdef"
REPO = "acme/rocket"


def _client(hub, clock=None, **options: Any) -> GitHubGraphQLClient:
    options.setdefault("retry", RetryPolicy(attempts=5, base=1.0, cap=8.0))
    options.setdefault("coordinator", LocalCoordinator())
    return GitHubGraphQLClient(
        options.pop("token", TOKEN), base_url=hub.url, clock=clock or InstantClock(), **options
    )


def _walk(client: GitHubGraphQLClient, repo: str = REPO, first: int = PAGE_SIZE) -> list[dict]:
    owner, name = repo.split("/")
    nodes: list[dict] = []
    after = None
    while True:
        page = client.fetch_pr_page(owner, name, first=first, after=after)
        nodes.extend(page.nodes)
        if not page.has_next_page:
            return nodes
        after = page.end_cursor


def _assert_complete(node: dict) -> None:
    for field in ("files", "commits", "reviews", "labels", "assignees", "reviewRequests"):
        conn = node[field]
        assert len(conn["nodes"]) == conn["totalCount"], (node["number"], field)
    rollup = node["statusCheckRollup"]
    if rollup is not None:
        assert len(rollup["contexts"]["nodes"]) == rollup["contexts"]["totalCount"]


@pytest.fixture
def clock() -> InstantClock:
    return InstantClock()


@pytest.fixture
def hub(fakehub_factory, clock):
    """fakehub on the test's virtual clock, with 60 synthetic PRs."""
    return fakehub_factory(clock=clock.now, synthetic=[(REPO, 60)])


# ---- completeness and cost ------------------------------------------------------------------


def test_a_thousand_prs_take_33_pages_and_one_follow_up_at_three_points_a_page(fakehub_factory):
    hub = fakehub_factory(synthetic=[(REPO, 1000)])
    client = _client(hub)
    owner, name = REPO.split("/")
    first = client.fetch_pr_page(owner, name)
    assert first.cost == 3 and len(first.nodes) == 31 and first.pushed_at
    hub.reset_stats()
    nodes = first.nodes + _walk_from(client, first.end_cursor)
    assert len(nodes) == 1000 and len({n["number"] for n in nodes}) == 1000
    for node in nodes:
        _assert_complete(node)
    stats = hub.stats()
    # 32 more pages of 31 (3 points each: GitHub prices the last page, 8 PRs, by its `first`
    # too; the walk trims it) + 1 follow-up for the one heavy PR (#500) = 33 requests.
    assert stats["graphql_requests"] == 33
    assert stats["graphql_points"] == 32 * 3 + 1
    assert stats["requests_while_limited"] == 0 and stats["max_in_flight_per_token"] == 1
    assert client.stats.points_used == 100 and client.stats.requests == 34


def _walk_from(client: GitHubGraphQLClient, after: str | None) -> list[dict]:
    owner, name = REPO.split("/")
    nodes: list[dict] = []
    while after:
        page = client.fetch_pr_page(owner, name, after=after)
        nodes.extend(page.nodes)
        after = page.end_cursor if page.has_next_page else None
    return nodes


def test_a_heavy_pr_is_completed_with_exactly_one_follow_up(fakehub_factory):
    hub = fakehub_factory(synthetic=[(REPO, 500)])
    client = _client(hub)
    hub.reset_stats()
    node = client.fetch_single_pr("acme", "rocket", 500)
    assert node is not None
    assert hub.stats()["graphql_requests"] == 2
    pr = FetchedPRFull.from_api(node, REPO)
    assert (len(pr.files), len(pr.commits), len(pr.reviews), len(pr.check_runs)) == (
        180,
        130,
        60,
        40,
    )
    assert len({f.filename for f in pr.files}) == 180
    assert len({c.sha for c in pr.commits}) == 130


def test_prs_asked_for_by_node_id_come_back_complete_in_their_order(fakehub_factory):
    hub = fakehub_factory(synthetic=[(REPO, 500)])
    client = _client(hub)
    numbers = [500, *range(1, 12)]  # the heavy PR among eleven light ones
    singles = {n: client.fetch_single_pr("acme", "rocket", n) for n in numbers}
    ids = [singles[n]["id"] for n in numbers]
    hub.reset_stats()
    nodes = client.fetch_prs_by_node_ids([*ids, "PR_gone", ids[3]], batch=5)
    # 13 distinct ids in ceil(13 / 5) = 3 requests, then 1 follow-up for #500's overflowing
    # files, commits and reviews; an id that resolves to nothing is left out.
    assert hub.stats()["graphql_requests"] == 4
    assert [n["number"] for n in nodes] == numbers
    for node in nodes:
        _assert_complete(node)
        assert FetchedPRFull.from_api(node, REPO) == FetchedPRFull.from_api(
            singles[node["number"]], REPO
        )
    heavy = FetchedPRFull.from_api(nodes[0], REPO)
    assert (len(heavy.files), len(heavy.commits), len(heavy.reviews)) == (180, 130, 60)


def test_a_pr_node_answered_with_errors_is_asked_for_again_never_returned_partial(hub, clock):
    client = _client(hub, clock)
    clean = {n: client.fetch_single_pr("acme", "rocket", n) for n in (3, 4, 5)}
    hub.faults({"rules": [{"fault": "partial_errors", "every": 2}]})
    client.fetch_repo_metadata("acme", "rocket")  # the rule's 1st match; its 2nd fires
    hub.reset_stats()
    nodes = client.fetch_prs_by_node_ids([node["id"] for node in clean.values()])
    stats = hub.stats()
    assert stats["faults_injected"] == 1 and stats["graphql_requests"] == 2
    assert [FetchedPRFull.from_api(n, REPO) for n in nodes] == [
        FetchedPRFull.from_api(node, REPO) for node in clean.values()
    ]


def test_a_node_id_batch_beyond_githubs_hundred_is_refused(hub):
    with pytest.raises(ValueError, match="batch must be between 1 and 100"):
        _client(hub).fetch_prs_by_node_ids(["PR_x"], batch=101)


def test_a_pr_with_300_files_lands_with_300_files(hub):
    files = [
        {"path": f"src/f{i:03}.py", "additions": i, "deletions": 1, "changeType": "MODIFIED"}
        for i in range(300)
    ]
    hub.upsert_pr(REPO, {"number": 7, "files": files, "changedFiles": 300})
    client = _client(hub)
    by_number = {n["number"]: n for n in _walk(client)}
    pr = FetchedPRFull.from_api(by_number[7], REPO)
    assert len(pr.files) == 300
    assert [f.filename for f in pr.files] == [f["path"] for f in files]
    single = client.fetch_single_pr("acme", "rocket", 7)
    assert single is not None and len(single["files"]["nodes"]) == 300


def test_a_missing_pr_is_none_and_the_metadata_is_one_point(hub):
    client = _client(hub)
    assert client.fetch_single_pr("acme", "rocket", 999_999) is None
    hub.reset_stats()
    meta = client.fetch_repo_metadata("acme", "rocket")
    assert meta.name_with_owner == REPO and meta.pushed_at and meta.default_branch
    assert hub.stats()["graphql_points"] == 1
    assert client.rate_limits["graphql"].remaining < 5000


def test_partial_answers_are_refetched_and_never_taken_as_empty(hub, clock):
    clean = {n["number"]: n for n in _walk(_client(hub))}
    hub.faults({"seed": 3, "rules": [{"fault": "partial_errors", "every": 2}]})
    client = _client(hub, clock)
    faulty = {n["number"]: n for n in _walk(client)}
    assert hub.stats()["faults_injected"] > 0
    assert faulty.keys() == clean.keys()
    for number, node in clean.items():
        assert FetchedPRFull.from_api(faulty[number], REPO) == FetchedPRFull.from_api(node, REPO)


# ---- retries --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_it_retries_server_errors_with_jittered_backoff(hub, clock, status):
    hub.faults({"rules": [{"fault": "status", "status": status, "every": 2}]})
    client = _client(hub, clock)
    nodes = _walk(client)
    assert len(nodes) == 60
    assert client.stats.retries >= 1
    assert hub.stats()["statuses"].get(str(status), 0) == client.stats.retries
    # Full jitter: every wait is somewhere in [0, base * 2**n], first retries at most 1 s.
    assert all(0 <= s <= 1.0 for s in clock.sleeps)


def test_it_retries_dropped_connections_and_timeouts(hub, clock):
    hub.faults(
        {"rules": [{"fault": "drop", "every": 3}, {"fault": "slow", "seconds": 4, "every": 4}]}
    )
    # A timeout well above an answer's time on a loaded machine (an answer that came late
    # would be one more retry than faults injected), well below the slow fault's 4 s.
    client = _client(hub, clock, timeout=1.5)
    assert len(_walk(client, first=10)) == 60
    faults = hub.stats()["faults_injected"]
    assert faults >= 2 and client.stats.retries == faults


def test_a_request_left_unanswered_is_retried_no_sooner_than_the_transport_floor(hub, clock):
    # Every second request dropped: each retry is a first retry, drawn from [0, 0.4) s.
    hub.faults({"rules": [{"fault": "drop", "every": 2}]})
    waits: list[float] = []

    class Listener:
        def on_wait(self, seconds: float, reason: str) -> None:
            if seconds > 0 and "TransportFailed" in reason:
                waits.append(seconds)

    policy = RetryPolicy(base=0.4, cap=8.0, transport_floor=0.5, rng=random.Random(1))
    client = _client(hub, clock, retry=policy, listener=Listener())
    assert len(_walk(client, first=10)) == 60
    retries = client.stats.retries
    assert retries >= 3 and hub.stats()["faults_injected"] == retries
    # on_wait hears each wait's start and then its countdown: the starts are the floor.
    assert sum(clock.sleeps) == pytest.approx(0.5 * retries)
    assert max(waits) == 0.5


def test_it_gives_up_after_the_policys_attempts_with_a_clear_error(hub, clock):
    hub.faults({"rules": [{"fault": "status", "status": 502}]})
    client = _client(hub, clock, retry=RetryPolicy(attempts=3))
    with pytest.raises(ServerError) as caught:
        client.fetch_pr_page("acme", "rocket")
    assert caught.value.status == 502 and hub.stats()["requests"] == 3
    assert str(caught.value).startswith("acme/rocket: GitHub answered 502")


def test_retry_false_hands_the_first_502_or_timeout_to_the_caller(hub, clock):
    client = _client(hub, clock, timeout=5.0)
    hub.faults({"rules": [{"fault": "status", "status": 504, "every": 1}]})
    with pytest.raises(ServerError) as caught:
        client.fetch_pr_page("acme", "rocket", retry=False)
    assert caught.value.status == 504 and hub.stats()["requests"] == 1
    hub.faults({"rules": [{"fault": "drop", "every": 1}]})
    with pytest.raises(TransportFailed):
        client.fetch_pr_page("acme", "rocket", first=12, retry=False)
    assert hub.stats()["requests"] == 2 and clock.sleeps == []


def test_a_page_too_heavy_for_github_can_be_halved_by_the_caller(hub, clock):
    # fakehub answers 502 above 6,000 nodes: a 25-PR page has 12,025, a 12-PR page 5,772.
    hub.faults({"rules": [{"fault": "heavy_page_502", "max_nodes": 6000}]})
    client = _client(hub, clock)
    first = 25
    while True:
        try:
            page = client.fetch_pr_page("acme", "rocket", first=first, retry=False)
            break
        except (ServerError, TransportFailed):
            first //= 2
    assert first == 12 and len(page.nodes) == 12
    # Requests, not `statuses`: fakehub books a status only after its answer has left.
    assert hub.stats()["graphql_requests"] == 2 and client.stats.requests == 2
    assert client.stats.retries == 0 and clock.sleeps == []


def test_the_listener_hears_every_request_with_its_cost(hub, clock):
    heard = []

    class Listener:
        def on_request(self, info) -> None:
            heard.append(info)

    hub.faults({"rules": [{"fault": "status", "status": 503, "every": 2}]})
    client = _client(hub, clock, listener=Listener())
    client.fetch_repo_metadata("acme", "rocket")
    client.fetch_pr_page("acme", "rocket")
    assert [(i.kind, i.status, i.cost) for i in heard] == [
        ("graphql", 200, 1),
        ("graphql", 503, 0),
        ("graphql", 200, 3),
    ]
    assert heard[1].error == "ServerError 503" and heard[1].repo == REPO
    assert all(i.token_key == token_key(TOKEN) for i in heard)
    assert client.stats.requests == 3 and client.stats.retries == 1


def test_bad_credentials_and_missing_repositories_are_not_retried(fakehub_factory, clock):
    hub = fakehub_factory(clock=clock.now, synthetic=[(REPO, 3)], tokens=["the-right-one"])
    client = _client(hub, clock)
    with pytest.raises(BadCredentials) as caught:
        client.fetch_pr_page("acme", "rocket")
    assert "GITHUB_TOKEN" in str(caught.value) and TOKEN not in str(caught.value)
    assert hub.stats()["requests"] == 1
    good = _client(hub, clock, token="the-right-one")
    with pytest.raises(NotFound) as missing:
        good.fetch_pr_page("acme", "missing")
    assert str(missing.value).startswith(
        "repository acme/missing not found or not visible to this token"
    )
    assert hub.stats()["requests"] == 2 and clock.sleeps == []


def test_an_unreachable_github_is_one_line_naming_the_url(clock):
    client = GitHubGraphQLClient(
        TOKEN, base_url="http://127.0.0.1:9", clock=clock, retry=RetryPolicy(attempts=2)
    )
    with pytest.raises(TransportFailed) as caught:
        client.fetch_repo_metadata("acme", "rocket")
    message = str(caught.value)
    assert "GitHub unreachable at http://127.0.0.1:9/graphql" in message and "\n" not in message
    assert TOKEN not in message


def test_a_malformed_api_url_fails_at_once_in_one_line(clock):
    client = GitHubGraphQLClient(TOKEN, base_url="localhost:8000", clock=clock)
    with pytest.raises(TransportFailed) as caught:
        client.fetch_repo_metadata("acme", "rocket")
    assert "GITHUB_API_URL" in str(caught.value) and not caught.value.retryable
    assert clock.sleeps == [] and client.stats.retries == 0


# ---- secondary limits -----------------------------------------------------------------------


def test_a_secondary_limit_with_retry_after_is_waited_out_exactly(hub, clock):
    hub.faults({"rules": [{"fault": "secondary_limit", "retry_after": 30, "every": 2}]})
    client = _client(hub, clock)
    assert len(_walk(client)) == 60
    stats = hub.stats()
    assert stats["rate_limited_responses"] >= 1 and stats["requests_while_limited"] == 0
    assert client.stats.waited_seconds == 30 * stats["rate_limited_responses"]


def test_a_secondary_limit_without_retry_after_waits_at_least_a_minute(hub, clock):
    hub.faults({"rules": [{"fault": "secondary_limit", "status": 429, "every": 2}]})
    client = _client(hub, clock)
    assert len(_walk(client)) == 60
    stats = hub.stats()
    assert stats["rate_limited_responses"] >= 1 and stats["requests_while_limited"] == 0
    assert client.stats.waited_seconds >= 60 * stats["rate_limited_responses"]


def test_a_secondary_limit_that_never_lifts_is_given_up_on(hub, clock):
    hub.faults({"rules": [{"fault": "secondary_limit", "retry_after": 5}]})
    client = _client(hub, clock, retry=RetryPolicy(secondary_attempts=2))
    with pytest.raises(SecondaryRateLimited) as caught:
        client.fetch_pr_page("acme", "rocket")
    assert "persisted after 3 tries" in str(caught.value)
    assert "acme/rocket" in str(caught.value)
    assert hub.stats()["requests"] == 3 and hub.stats()["requests_while_limited"] == 0


def test_a_secondary_limit_that_persists_is_waited_out_longer_each_time(hub, clock):
    hub.faults({"rules": [{"fault": "secondary_limit", "retry_after": 5}]})
    client = _client(hub, clock, retry=RetryPolicy(secondary_attempts=3))
    with pytest.raises(SecondaryRateLimited) as caught:
        client.fetch_pr_page("acme", "rocket")
    # retry-after first, then doubling (GitHub: "an exponentially increasing amount of time").
    assert client.stats.waited_seconds == 5 + 10 + 20
    assert "persisted after 4 tries (the last wait 40s)" in str(caught.value)
    assert hub.stats()["requests"] == 4 and hub.stats()["requests_while_limited"] == 0


def test_on_limit_stop_raises_a_secondary_limit_instead_of_sleeping_in_the_worker(hub, clock):
    hub.faults({"rules": [{"fault": "secondary_limit", "status": 403}]})
    client = _client(hub, clock, on_limit="stop")
    with pytest.raises(SecondaryRateLimited) as caught:
        client.fetch_pr_page("acme", "rocket")
    assert caught.value.retry_after >= 60  # no retry-after: at least a minute, re-queue for it
    assert clock.sleeps == [] and hub.stats()["requests"] == 1

    # Still blocked: the next task of this token raises at once and sends nothing.
    hub.faults({"rules": []})
    with pytest.raises(SecondaryRateLimited) as again:
        client.fetch_pr_page("acme", "rocket")
    assert again.value.retry_after == pytest.approx(caught.value.retry_after)  # no time passed
    assert "acme/rocket" in str(again.value) and "\n" not in str(again.value)
    assert hub.stats()["requests"] == 1 and clock.sleeps == []

    clock.advance(caught.value.retry_after)
    assert len(client.fetch_pr_page("acme", "rocket").nodes) == PAGE_SIZE
    assert hub.stats()["requests_while_limited"] == 0 and clock.sleeps == []


def test_a_re_queued_task_hit_again_by_a_secondary_limit_backs_off_longer(hub, clock):
    """Each task has its own client; the streak of hits lives in the shared coordinator."""
    coordinator = LocalCoordinator()
    hub.faults({"rules": [{"fault": "secondary_limit", "retry_after": 7}]})
    waits = []
    for _ in range(3):
        task_client = _client(hub, clock, on_limit="stop", coordinator=coordinator)
        with pytest.raises(SecondaryRateLimited) as caught:
            task_client.fetch_pr_page("acme", "rocket")
        waits.append(caught.value.retry_after)
        clock.advance(caught.value.retry_after)
    assert waits == [7, 14, 28]

    # A request that goes through ends the streak: the next hit waits retry-after again.
    hub.faults({"rules": []})
    _client(hub, clock, on_limit="stop", coordinator=coordinator).fetch_pr_page("acme", "rocket")
    hub.faults({"rules": [{"fault": "secondary_limit", "retry_after": 7}]})
    with pytest.raises(SecondaryRateLimited) as fresh:
        _client(hub, clock, on_limit="stop", coordinator=coordinator).fetch_pr_page(
            "acme", "rocket"
        )
    assert fresh.value.retry_after == 7
    assert hub.stats()["requests_while_limited"] == 0


def test_seeding_still_waits_out_a_secondary_limit_with_on_limit_wait(hub, clock):
    hub.faults({"rules": [{"fault": "secondary_limit", "status": 429, "every": 2}]})
    client = _client(hub, clock, on_limit="wait")
    assert len(_walk(client)) == 60
    assert client.stats.waited_seconds >= 60 and hub.stats()["requests_while_limited"] == 0


# ---- primary limit --------------------------------------------------------------------------


def test_primary_exhaustion_waits_for_the_real_reset_and_sends_nothing_meanwhile(
    fakehub_factory,
):
    hub = fakehub_factory(synthetic=[(REPO, 60)], reset_seconds=2, graphql_points=5)
    waits: list[tuple[float, str]] = []

    class Listener:
        def on_wait(self, seconds: float, reason: str) -> None:
            waits.append((seconds, reason))

    client = _client(hub, SystemClock(), listener=Listener())
    assert len(_walk(client)) == 60  # 2 pages x 3 points: over 5 points
    stats = hub.stats()
    assert stats["requests_while_limited"] == 0
    assert stats["rate_limited_responses"] == 0  # waited before, not after, running dry
    assert client.stats.waited_seconds > 0
    assert waits and "rate limit reset" in waits[0][1] and waits[-1][0] == 0.0


def test_a_limit_answer_is_waited_out_until_the_reset(fakehub_factory, clock):
    hub = fakehub_factory(clock=clock.now, synthetic=[(REPO, 60)], reset_seconds=120)
    hub.faults({"rules": [{"fault": "primary_exhaustion", "after_points": 3}]})
    client = _client(hub, clock)
    assert len(_walk(client)) == 60
    stats = hub.stats()
    assert stats["rate_limited_responses"] == 1 and stats["requests_while_limited"] == 0
    assert 100 <= client.stats.waited_seconds <= 125


def test_on_limit_stop_raises_with_the_reset_and_sends_nothing_more(fakehub_factory, clock):
    hub = fakehub_factory(
        clock=clock.now, synthetic=[(REPO, 60)], reset_seconds=300, graphql_points=3
    )
    client = _client(hub, clock, on_limit="stop")
    client.fetch_pr_page("acme", "rocket")
    with pytest.raises(RateLimited) as caught:
        client.fetch_pr_page("acme", "rocket")
    assert caught.value.reset_at is not None and 0 < caught.value.retry_after <= 302
    assert "acme/rocket" in str(caught.value) and "\n" not in str(caught.value)
    assert hub.stats()["requests"] == 1 and clock.sleeps == []


# ---- one request at a time, several tokens ---------------------------------------------------


def test_four_threads_on_one_token_never_overlap(fakehub_factory):
    hub = fakehub_factory(synthetic=[(REPO, 100)], latency_ms=15)
    clients = [_client(hub, coordinator=None) for _ in range(2)]  # share the process default
    errors: list[BaseException] = []
    counts: list[int] = []

    def work(client: GitHubGraphQLClient) -> None:
        try:
            counts.append(len(_walk(client)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(clients[i % 2],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and counts == [100] * 4
    assert hub.stats()["max_in_flight_per_token"] == 1


def test_a_token_pool_switches_when_one_runs_dry_without_waiting(fakehub_factory, clock):
    hub = fakehub_factory(
        clock=clock.now, synthetic=[(REPO, 60)], graphql_points=4, reset_seconds=600
    )
    pool = TokenPool(["pat-one", "pat-two"])
    client = _client(hub, clock, token=pool)
    assert len(_walk(client)) == 60
    stats = hub.stats()
    used = {k: v["graphql_requests"] for k, v in stats["per_token"].items()}
    assert set(used) == {token_key("pat-one"), token_key("pat-two")}
    assert all(count >= 1 for count in used.values())
    assert stats["requests_while_limited"] == 0 and clock.sleeps == []


def test_a_dry_pool_waits_only_when_every_token_is_dry(fakehub_factory, clock):
    hub = fakehub_factory(
        clock=clock.now, synthetic=[(REPO, 100)], graphql_points=3, reset_seconds=60
    )
    client = _client(hub, clock, token=["pat-one", "pat-two"])
    assert len(_walk(client)) == 100
    assert hub.stats()["requests_while_limited"] == 0
    assert client.stats.waited_seconds > 0


# ---- REST -----------------------------------------------------------------------------------


def test_an_unchanged_probe_is_a_free_304(hub, clock):
    client = _client(hub, clock)
    first = client.probe_pulls("acme", "rocket", None)
    assert first.status == 200 and first.etag and len(first.data) == 1
    hub.reset_stats()
    again = client.probe_pulls("acme", "rocket", first.etag)
    assert again.not_modified and again.data is None and again.etag == first.etag
    assert hub.stats()["not_modified"] == 1 and hub.stats()["rest_points"] == 0
    assert client.stats.not_modified == 1
    hub.upsert_pr(REPO, {"number": 3, "title": "changed"})
    changed = client.probe_pulls("acme", "rocket", first.etag)
    assert not changed.not_modified and changed.etag != first.etag


def test_rest_check_runs_match_the_graphql_rollup(hub, clock):
    client = _client(hub, clock)
    node = next(
        n
        for n in _walk(client)
        if n["statusCheckRollup"] and n["statusCheckRollup"]["contexts"]["totalCount"]
    )
    sha = node["commits"]["nodes"][-1]["commit"]["oid"]
    runs = client.fetch_check_runs_rest("acme", "rocket", sha)
    rollup_ids = {
        c["databaseId"] for c in node["statusCheckRollup"]["contexts"]["nodes"] if "databaseId" in c
    }
    assert {r["id"] for r in runs} == rollup_ids


def test_the_rest_budget_is_respected_too(fakehub_factory, clock):
    hub = fakehub_factory(
        clock=clock.now, synthetic=[(REPO, 5)], core_requests=2, reset_seconds=100
    )
    client = _client(hub, clock)
    for _ in range(3):
        assert client.probe_pulls("acme", "rocket", None).status == 200
    stats = hub.stats()
    assert stats["rest_requests"] == 3 and stats["requests_while_limited"] == 0
    assert stats["rate_limited_responses"] == 0 and client.stats.waited_seconds >= 99
    assert client.rate_limits["core"].remaining >= 0


def test_an_invalid_query_is_not_retried_and_never_empty_data(hub, clock):
    client = _client(hub, clock)
    with pytest.raises(GraphQLFailed) as caught:
        client.execute('query { repository(owner: "acme", name: "rocket") { nope } }')
    assert not caught.value.retryable and hub.stats()["requests"] == 1
    assert "nope" in str(caught.value)


# ---- secrets --------------------------------------------------------------------------------


def test_the_token_never_reaches_errors_or_logs(fakehub_factory, clock, caplog):
    hub = fakehub_factory(clock=clock.now, synthetic=[(REPO, 30)], tokens=[TOKEN])
    hub.faults({"rules": [{"fault": "status", "status": 502, "every": 2}]})
    caplog.set_level(logging.DEBUG)
    client = _client(hub, clock)
    assert len(_walk(client)) == 30
    messages: list[str] = []
    for bad in ("ghp_wrongtoken_abcdef", [TOKEN + "x", TOKEN + "y"]):
        with pytest.raises(GitHubError) as caught:
            _client(hub, clock, token=bad).fetch_repo_metadata("acme", "rocket")
        messages.append(str(caught.value))
    text = caplog.text + " ".join(messages) + repr(client)
    assert TOKEN not in text and "ghp_wrongtoken" not in text


# ---- mixed faults ---------------------------------------------------------------------------


def _mixed_profile(seed: int) -> dict[str, Any]:
    return {
        "seed": seed,
        "rules": [
            {"fault": "status", "status": 502, "probability": 0.08},
            {"fault": "status", "status": 503, "probability": 0.05},
            {"fault": "status", "status": 504, "probability": 0.05},
            # No "drop" here: fakehub ends a dropped request's in-flight count only after
            # closing the socket, so an instant retry can overlap it in its accounting
            # (drops are tested on their own above).
            # Slow but well inside the client's timeout, even on a loaded machine: a timed-out
            # request would still be in flight on the server while its retry runs (timeouts
            # are tested on their own).
            {"fault": "slow", "seconds": 0.2, "probability": 0.05},
            {"fault": "secondary_limit", "retry_after": 20, "probability": 0.04},
            {"fault": "secondary_limit", "status": 429, "probability": 0.03},
            {"fault": "partial_errors", "probability": 0.1},
            {"fault": "primary_exhaustion", "after_points": 8},
        ],
    }


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_under_mixed_faults_the_prs_are_exactly_those_of_an_undisturbed_run(
    fakehub_factory, clock, seed
):
    hub = fakehub_factory(clock=clock.now, synthetic=[(REPO, 150)], reset_seconds=90)
    clean = [FetchedPRFull.from_api(n, REPO) for n in _walk(_client(hub, clock), first=10)]
    hub.set_limits(reset_seconds=90)  # a fresh window for the faulty run
    hub.reset_stats()
    hub.faults(_mixed_profile(seed))
    client = _client(hub, clock, timeout=3.0, retry=RetryPolicy(attempts=8, base=1, cap=8))
    faulty = [FetchedPRFull.from_api(n, REPO) for n in _walk(client, first=10)]
    assert faulty == clean
    stats = hub.stats()
    assert stats["faults_injected"] > 0
    assert stats["requests_while_limited"] == 0 and stats["max_in_flight_per_token"] == 1
