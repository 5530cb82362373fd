"""GitHub App authentication: a TokenSource handing out installation tokens, renewed in time.

docs.github.com: apps/creating-github-apps/authenticating-with-a-github-app/
generating-a-json-web-token-jwt-for-a-github-app and .../generating-an-installation-access-token-
for-a-github-app. The app signs a short JWT (RS256) with its private key; the JWT buys an
installation token (one hour) at `POST /app/installations/{id}/access_tokens`; API calls use that
token. Long syncs outlive one token, so it is renewed a few minutes before `expires_at`, and once
more when GitHub answers 401 anyway (the client calls `invalidate()`).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from apps.integrations.github.clock import Clock, SystemClock
from apps.integrations.github.errors import BadCredentials, GitHubError
from apps.integrations.github.tokens import SingleToken

# GitHub rejects a JWT whose exp is more than 10 minutes after iat; iat is backdated 60 s
# against clock drift, as GitHub's docs advise, so exp stays at 9 minutes from now.
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 540
DEFAULT_REFRESH_MARGIN_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class InstallationToken:
    """An installation token and when GitHub says it stops working (epoch seconds)."""

    token: str
    expires_at: float
    fetched_at: float

    def __repr__(self) -> str:
        # Never show the token itself, not even in a traceback's locals.
        return f"InstallationToken(expires_at={self.expires_at!r})"


class GitHubAppInstallation(SingleToken):
    """TokenSource for one installation of a GitHub App: `token()`, `invalidate()`, `key`."""

    def __init__(
        self,
        app_id: str | int,
        private_key: str | bytes,
        installation_id: str | int,
        base_url: str = "https://api.github.com",
        *,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN_SECONDS,
        timeout: float = 30.0,
        clock: Clock | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        """Check the key now (one clear error), fetch no token until the first `token()`."""
        self.app_id = str(app_id).strip()
        self.installation_id = str(installation_id).strip()
        if not self.app_id or not self.installation_id.isdigit():
            raise ValueError("GitHub App: app id and a numeric installation id are required")
        self.base_url = base_url.rstrip("/")
        self._private_key = _load_rsa_key(private_key)
        self._refresh_margin = refresh_margin
        self._clock: Clock = clock or SystemClock()
        self._http = http or httpx.Client(timeout=timeout)
        self._lock = threading.Lock()
        self._current: InstallationToken | None = None
        self.tokens_fetched = 0

    @classmethod
    def from_key_file(
        cls,
        app_id: str | int,
        key_path: str | Path,
        installation_id: str | int,
        base_url: str = "https://api.github.com",
        **options: object,
    ) -> GitHubAppInstallation:
        """Read the app's PEM private key from `key_path` (one clear error when unreadable)."""
        try:
            pem = Path(key_path).read_bytes()
        except OSError as exc:
            raise ValueError(f"GitHub App private key {key_path}: {exc.strerror}") from None
        return cls(app_id, pem, installation_id, base_url, **options)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"GitHubAppInstallation(app_id={self.app_id!r}, installation_id={self.installation_id!r})"

    @property
    def key(self) -> str:
        """A stable key for coordination: GitHub budgets per installation, not per token."""
        ident = f"github-app:{self.base_url}:{self.app_id}:{self.installation_id}"
        return hashlib.sha256(ident.encode()).hexdigest()[:16]

    def app_jwt(self) -> str:
        """Return a fresh RS256 JWT for the app (iat 60 s in the past, exp within 10 minutes)."""
        now = int(self._clock.now())
        claims = {
            "iat": now - JWT_BACKDATE_SECONDS,
            "exp": now + JWT_LIFETIME_SECONDS,
            # The app id (or the app's client ID); PyJWT insists on a string issuer.
            "iss": self.app_id,
        }
        return jwt.encode(claims, self._private_key, algorithm="RS256")

    def token(self) -> str:
        """Return a valid installation token, fetching a new one when the current one is near expiry."""
        with self._lock:
            current = self._current
            if current is None or self._clock.now() >= current.expires_at - self._margin(current):
                current = self._current = self._fetch()
            return current.token

    def invalidate(self, token: str) -> None:
        """Forget `token` (GitHub refused it): the next `token()` fetches a new one."""
        with self._lock:
            if self._current is not None and hmac.compare_digest(
                self._current.token.encode(), token.encode()
            ):
                self._current = None

    @property
    def expires_at(self) -> float | None:
        """When the current token expires (epoch seconds), None before the first fetch."""
        current = self._current
        return current.expires_at if current else None

    def _margin(self, current: InstallationToken) -> float:
        # Renew a few minutes early; a short-lived token (fakehub's, or a clock far off) renews
        # at three quarters of its life instead, so it is not renewed on every call.
        lifetime = max(current.expires_at - current.fetched_at, 0.0)
        return min(self._refresh_margin, lifetime / 4)

    def _fetch(self) -> InstallationToken:
        url = f"{self.base_url}/app/installations/{self.installation_id}/access_tokens"
        headers = {
            "Authorization": f"Bearer {self.app_jwt()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        fetched_at = self._clock.now()
        try:
            response = self._http.post(url, headers=headers)
        except httpx.HTTPError as exc:
            raise GitHubError(
                f"GitHub App installation {self.installation_id}: token request failed "
                f"({type(exc).__name__}); check GITHUB_API_URL and the network"
            ) from None
        if response.status_code in (401, 403, 404):
            raise BadCredentials(
                f"GitHub App {self.app_id}, installation {self.installation_id}: GitHub refused "
                f"the token request ({response.status_code} {_message(response)}); check "
                "GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and the private key"
            )
        if response.status_code != 201 and response.status_code != 200:
            raise GitHubError(
                f"GitHub App installation {self.installation_id}: token request answered "
                f"{response.status_code} {_message(response)}; retry later"
            )
        try:
            body = response.json()
            token = str(body["token"])
            expires_at = datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError):
            raise GitHubError(
                f"GitHub App installation {self.installation_id}: token answer without "
                "token/expires_at"
            ) from None
        self.tokens_fetched += 1
        return InstallationToken(token, expires_at.timestamp(), fetched_at)


def _load_rsa_key(private_key: str | bytes) -> RSAPrivateKey:
    pem = private_key.encode() if isinstance(private_key, str) else private_key
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ValueError("GitHub App private key is not a readable PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("GitHub App private key must be an RSA key (GitHub signs with RS256)")
    return key


def _message(response: httpx.Response) -> str:
    """GitHub's own one-line reason from an error body, if any (never echoes headers)."""
    try:
        message = response.json().get("message", "")
    except (ValueError, AttributeError):
        return ""
    return str(message)[:200]
