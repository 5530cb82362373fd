"""GitHubAppInstallation against fakehub's `POST /app/installations/{id}/access_tokens`."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.clock import InstantClock
from apps.integrations.github.coordination import Coordinator, LocalCoordinator, token_key
from apps.integrations.github.coordination_redis import RedisCoordinator
from apps.integrations.github.errors import BadCredentials, RateLimited
from apps.integrations.github.github_app import GitHubAppInstallation
from apps.integrations.github.values import RequestInfo


def _pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def hub(fakehub_factory, app_key):
    return fakehub_factory(app_public_key=_public(app_key), synthetic=[("acme/rocket", 3)])


def make_source(hub, app_key, **options) -> GitHubAppInstallation:
    return GitHubAppInstallation(12345, _pem(app_key), 678, hub.url, **options)


def test_it_buys_an_installation_token_with_a_signed_jwt_and_the_token_works(hub, app_key):
    source = make_source(hub, app_key)
    token = source.token()
    assert token.startswith("ghs_")
    assert source.expires_at is not None
    client = GitHubGraphQLClient(source, base_url=hub.url)
    meta = client.fetch_repo_metadata("acme", "rocket")
    assert meta.name_with_owner == "acme/rocket"
    assert source.tokens_fetched == 1


def test_the_jwt_is_rs256_issued_60s_in_the_past_and_expires_within_10_minutes(hub, app_key):
    clock = InstantClock(start=1_700_000_000)
    source = make_source(hub, app_key, clock=clock)
    token = source.app_jwt()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token, _public(app_key), algorithms=["RS256"], options={"verify_exp": False}
    )
    assert claims["iss"] == "12345"
    assert claims["iat"] == 1_700_000_000 - 60
    assert 0 < claims["exp"] - 1_700_000_000 <= 600


def test_a_token_is_reused_until_a_few_minutes_before_it_expires(hub, app_key):
    clock = InstantClock()
    source = make_source(hub, app_key, clock=clock)
    first = source.token()
    clock.advance(3600 - 301)  # fakehub's tokens live an hour; renewal margin is 5 minutes
    assert source.token() == first
    clock.advance(2)
    second = source.token()
    assert second != first
    assert source.tokens_fetched == 2


def test_a_short_lived_token_is_renewed_at_three_quarters_of_its_life(fakehub_factory, app_key):
    hub = fakehub_factory(app_public_key=_public(app_key), installation_token_seconds=40)
    clock = InstantClock()
    source = make_source(hub, app_key, clock=clock)
    first = source.token()
    clock.advance(25)
    assert source.token() == first
    clock.advance(6)
    assert source.token() != first


def test_a_token_github_refused_is_replaced_on_the_next_call(hub, app_key):
    source = make_source(hub, app_key)
    first = source.token()
    source.invalidate("ghs_some_other_token")
    assert source.token() == first
    source.invalidate(first)
    assert source.token() != first
    assert source.tokens_fetched == 2


def test_a_jwt_signed_with_another_key_is_refused_in_one_line(hub):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    source = GitHubAppInstallation(12345, _pem(stranger), 678, hub.url)
    with pytest.raises(BadCredentials) as caught:
        source.token()
    message = str(caught.value)
    assert "\n" not in message
    assert "GITHUB_APP_ID" in message
    assert "PRIVATE KEY" not in message


@pytest.mark.parametrize(
    "key, why",
    [
        (b"not a key", "not a readable PEM"),
        (_pem(ec.generate_private_key(ec.SECP256R1())), "must be an RSA key"),
    ],
)
def test_a_private_key_that_cannot_sign_rs256_is_refused_at_once(key, why):
    with pytest.raises(ValueError, match=why):
        GitHubAppInstallation(1, key, 2, "http://127.0.0.1:9")


def test_an_unreadable_key_file_is_one_clear_line(tmp_path):
    with pytest.raises(ValueError, match="GitHub App private key .*missing.pem"):
        GitHubAppInstallation.from_key_file(1, tmp_path / "missing.pem", 2)


def test_the_token_never_shows_in_repr_or_in_the_coordination_key(hub, app_key):
    source = make_source(hub, app_key)
    token = source.token()
    assert token not in repr(source)
    assert token not in source.key
    assert source.key == make_source(hub, app_key).key  # stable across tokens and processes


# ---- two workers, one installation: one lock, one budget ---------------------------------------


class _Keys:
    """ClientListener collecting the coordination key of every request."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def on_request(self, info: RequestInfo) -> None:
        self.keys.add(info.token_key)


@pytest.fixture(params=["local", "redis"])
def shared_coordinator(request) -> Coordinator:
    """What the workers of one deployment share: an in-process or a Redis coordinator."""
    if request.param == "local":
        return LocalCoordinator()
    url = request.getfixturevalue("redis_url")
    return RedisCoordinator(url, prefix=request.getfixturevalue("redis_prefix"))


def test_two_workers_of_one_installation_share_one_budget_view(
    fakehub_factory, app_key, shared_coordinator
):
    # fakehub budgets per token string; GitHub budgets per installation. Two points: the first
    # worker spends them, the second must know it without asking (on_limit="stop" raises).
    hub = fakehub_factory(
        app_public_key=_public(app_key), synthetic=[("acme/rocket", 3)], graphql_points=2
    )
    first_source, second_source = make_source(hub, app_key), make_source(hub, app_key)
    heard = _Keys()
    first = GitHubGraphQLClient(
        first_source, base_url=hub.url, coordinator=shared_coordinator, listener=heard
    )
    second = GitHubGraphQLClient(
        second_source, base_url=hub.url, coordinator=shared_coordinator, on_limit="stop"
    )
    first.fetch_repo_metadata("acme", "rocket")
    first.fetch_repo_metadata("acme", "rocket")

    assert first_source.token() != second_source.token()  # one token per worker process
    remaining, _reset = shared_coordinator.budget(second_source.key, "graphql")
    assert remaining == 0
    assert heard.keys == {first_source.key}
    # Nothing is booked under a token: the budget is the installation's.
    assert shared_coordinator.budget(token_key(first_source.token()), "graphql") is None
    with pytest.raises(RateLimited):
        second.fetch_repo_metadata("acme", "rocket")
    assert hub.stats()["graphql_requests"] == 2
    assert second.stats.requests == 0


@pytest.mark.redis
def test_two_workers_of_one_installation_take_turns_on_one_lock(
    fakehub_factory, app_key, redis_url, redis_prefix
):
    hub = fakehub_factory(app_public_key=_public(app_key), synthetic=[("acme/rocket", 3)])
    source = make_source(hub, app_key)
    holder = RedisCoordinator(redis_url, prefix=redis_prefix)
    waiter = RedisCoordinator(redis_url, prefix=redis_prefix, lock_wait=0.2)
    second = GitHubGraphQLClient(make_source(hub, app_key), base_url=hub.url, coordinator=waiter)
    # The first worker is mid-request: the second, with a token of its own, must wait its turn.
    with holder.token_lock(source.key), pytest.raises(TimeoutError):
        second.fetch_repo_metadata("acme", "rocket")
    assert hub.stats()["graphql_requests"] == 0
    assert second.fetch_repo_metadata("acme", "rocket").name_with_owner == "acme/rocket"


def test_pool_members_keep_a_lock_and_a_budget_each(fakehub_factory):
    hub = fakehub_factory(synthetic=[("acme/rocket", 3)])
    coordinator = LocalCoordinator()
    heard = _Keys()
    client = GitHubGraphQLClient(
        ["ghp_pool_member_one", "ghp_pool_member_two"],
        base_url=hub.url,
        coordinator=coordinator,
        listener=heard,
    )
    client.fetch_repo_metadata("acme", "rocket")
    client.fetch_repo_metadata("acme", "rocket")  # the untried member is the richer one
    assert heard.keys == {token_key("ghp_pool_member_one"), token_key("ghp_pool_member_two")}
    for token in ("ghp_pool_member_one", "ghp_pool_member_two"):
        assert coordinator.budget(token_key(token), "graphql") is not None
