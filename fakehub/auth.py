"""Who may call the API: the tokens fakehub accepts, and GitHub App JWTs exchanged for
installation tokens (POST /app/installations/{id}/access_tokens).

docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/
generating-an-installation-access-token-for-a-github-app: an App signs a JWT (RS256, `iss` its
id, `exp` in the future) and trades it for an installation token (`ghs_...`) that expires.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fakehub.limits import Budget
from fakehub.rest import DOCS as REST_DOCS
from fakehub.store import iso

__all__ = ["Tokens", "bearer", "installation_token_answer", "jwt_problem", "read_tokens"]


class Tokens:
    """The tokens fakehub accepts: `allowed` PATs (None: any non-empty token) and the
    installation tokens it issued, until they expire."""

    def __init__(
        self,
        allowed: frozenset[str] | None,
        clock: Callable[[], float],
        installation_seconds: float,
    ) -> None:
        self.allowed = allowed
        self.clock = clock
        self.installation_seconds = installation_seconds
        self._installation: dict[str, float] = {}

    def valid(self, token: str) -> bool:
        expiry = self._installation.get(token)
        if expiry is not None:
            return self.clock() < expiry
        if not token:
            return False
        return self.allowed is None or token in self.allowed

    def issue_installation_token(self) -> tuple[str, float]:
        """A fresh `ghs_` token and the epoch second it expires at."""
        token = "ghs_" + secrets.token_urlsafe(27).replace("-", "a").replace("_", "b")[:36]
        expires = self.clock() + self.installation_seconds
        self._installation[token] = expires
        return token, expires


def read_tokens(path: str | Path) -> frozenset[str]:
    """The tokens of a file, one a line (`#` starts a comment line); ValueError if none."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read tokens file: {exc.strerror or exc}") from None
    tokens = frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    if not tokens:
        raise ValueError(f"{path}: no token in tokens file")
    return tokens


def bearer(header: str | None) -> str | None:
    """The token of `Authorization: bearer|token TOKEN` (case-insensitive scheme)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "token"):
        return None
    return value.strip() or None


def installation_token_answer(
    tokens: Tokens, clock: Callable[[], float], jwt_token: str | None, public_key: str | None
) -> tuple[int, Any, dict[str, str]]:
    """(status, body, headers) of an installation-token request: 201 with a new token, or 401
    naming what is wrong with the JWT."""
    headers = Budget("core", 5000, 0, int(clock()) + 3600).headers()
    problem = jwt_problem(jwt_token, clock(), public_key)
    if problem:
        return 401, {"message": problem, "documentation_url": REST_DOCS}, headers
    token, expires = tokens.issue_installation_token()
    body = {
        "token": token,
        "expires_at": iso(expires),
        "permissions": {"checks": "read", "metadata": "read", "pull_requests": "read"},
        "repository_selection": "all",
    }
    return 201, body, headers


def jwt_problem(token: str | None, now: float, public_key: str | None) -> str | None:
    """Why a GitHub App JWT is refused, or None when it is acceptable (its signature is only
    checked when fakehub was given the App's public key)."""
    bad = "A JSON web token could not be decoded"
    if not token or token.count(".") != 2:
        return bad
    head, body, _ = token.split(".")
    try:
        header, claims = _b64json(head), _b64json(body)
    except (ValueError, UnicodeDecodeError):
        return bad
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        return bad
    if not isinstance(claims, dict) or "iss" not in claims:
        return "'Issuer' claim ('iss') must be an Integer"
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= now:
        return (
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires"
        )
    if public_key:
        import jwt

        try:
            jwt.decode(
                token,
                public_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return bad
    return None


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
