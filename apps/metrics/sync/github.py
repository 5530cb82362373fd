"""The GitHub client and its tokens, built from settings: the one place seeding and sync get them.

Which credentials, first match wins:

1. a token given explicitly (`seed_real_projects --github-token`);
2. a GitHub App installation, when GITHUB_APP_ID is set (GITHUB_APP_PRIVATE_KEY_PATH and
   GITHUB_APP_INSTALLATION_ID then required);
3. GITHUB_SEEDING_TOKENS, comma-separated: a pool (the token with the most budget left is used);
4. GITHUB_TOKEN.

One rule for every command and task, so a deployment that sets several never has its seed and
its sync use different credentials.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.errors import BadCredentials, GitHubError
from apps.integrations.github.tokens import StaticToken, TokenPool, TokenSource
from apps.integrations.github.values import ClientListener

if TYPE_CHECKING:
    # Imported where used: redis-py and PyJWT add about 0.2 s to the start of every command,
    # and a seed with a token needs neither.
    from apps.integrations.github.coordination_redis import RedisCoordinator
    from apps.integrations.github.github_app import GitHubAppInstallation

__all__ = ["NO_TOKEN", "build_client", "token_source_from_settings"]

NO_TOKEN = (
    "no GitHub token: set GITHUB_TOKEN (or GITHUB_SEEDING_TOKENS=tok1,tok2, or GITHUB_APP_ID, "
    "GITHUB_APP_PRIVATE_KEY_PATH and GITHUB_APP_INSTALLATION_ID)"
)


def token_source_from_settings(explicit: str | None = None) -> TokenSource:
    """The credentials to use, by the module's rule; BadCredentials when there are none.

    `explicit`: a token given on the command line (None: not given); an empty one is an error.
    """
    if explicit is not None:
        if not explicit.strip():
            raise BadCredentials("the token given is empty")
        return StaticToken(explicit)
    if settings.GITHUB_APP_ID:
        if not (settings.GITHUB_APP_PRIVATE_KEY_PATH and settings.GITHUB_APP_INSTALLATION_ID):
            raise GitHubError(
                "GITHUB_APP_ID is set: set GITHUB_APP_PRIVATE_KEY_PATH and "
                "GITHUB_APP_INSTALLATION_ID too"
            )
        try:
            return _app_installation(
                settings.GITHUB_APP_ID,
                settings.GITHUB_APP_PRIVATE_KEY_PATH,
                settings.GITHUB_APP_INSTALLATION_ID,
                settings.GITHUB_API_URL,
            )
        except ValueError as exc:
            raise GitHubError(str(exc)) from None
    pool = [t.strip() for t in settings.GITHUB_SEEDING_TOKENS if t.strip()]
    if len(pool) > 1:
        return TokenPool(pool)
    if pool:
        return StaticToken(pool[0])
    if settings.GITHUB_TOKEN:
        return StaticToken(settings.GITHUB_TOKEN)
    raise BadCredentials(NO_TOKEN)


@cache
def _app_installation(
    app_id: str, key_path: str, installation_id: str, api_url: str
) -> GitHubAppInstallation:
    # One per process: its installation token (valid an hour, refreshed before it expires) is
    # reused by every task the process runs, instead of one token request a task.
    from apps.integrations.github.github_app import GitHubAppInstallation

    return GitHubAppInstallation.from_key_file(app_id, key_path, installation_id, api_url)


@cache
def _coordinator(redis_url: str, api_url: str) -> RedisCoordinator:
    from apps.integrations.github.coordination_redis import RedisCoordinator

    # Keys carry the API URL's hash too: two GitHubs (two fakehubs) never share a budget.
    prefix = "prharvest:" + hashlib.sha256(api_url.encode()).hexdigest()[:8]
    return RedisCoordinator(redis_url, prefix=prefix)


def build_client(
    tokens: TokenSource | None = None,
    *,
    on_limit: str = "stop",
    listener: ClientListener | None = None,
    coordinate: bool = True,
) -> GitHubGraphQLClient:
    """A client for GITHUB_API_URL (GITHUB_GRAPHQL_URL if set) with `tokens` (default: the
    module's rule).

    `on_limit="stop"` (workers): a spent budget raises RateLimited so the task re-queues itself
    instead of sleeping; a command in the foreground may pass "wait". `coordinate`: share the
    per-token lock and budget with other processes through REDIS_URL when it is set (sync's
    workers); a seed, one process, keeps them in-process.
    """
    coordinator = (
        _coordinator(settings.REDIS_URL, settings.GITHUB_API_URL)
        if coordinate and settings.REDIS_URL
        else None
    )
    return GitHubGraphQLClient(
        tokens if tokens is not None else token_source_from_settings(),
        base_url=settings.GITHUB_API_URL,
        timeout=settings.GITHUB_TIMEOUT_SECONDS,
        on_limit=on_limit,
        coordinator=coordinator,
        listener=listener,
        graphql_url=settings.GITHUB_GRAPHQL_URL or None,
    )
