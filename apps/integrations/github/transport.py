"""httpx, auth, timeouts: one request, nothing else. httpx errors become our errors here, once.

`Transport` owns one persistent `httpx.Client` (keep-alive) for one GitHub base URL. It sends
exactly one request and returns an `HTTPAnswer`, or raises from the error tree: httpx timeouts,
connect errors and dropped connections become `TransportFailed` ("GitHub unreachable at URL"),
and `raise_for_status` turns GitHub's status codes into `BadCredentials`, `NotFound`,
`RateLimited` / `SecondaryRateLimited`, `ServerError`, `Forbidden` or `GraphQLFailed` (400/422).
It never retries and never waits: that is the client's job, driven by `RetryPolicy`.
The token travels only in the Authorization header; it is never part of a message.
`when_sent(callback)` lets a thread hear when each of its requests is out and its answer awaited
(the page walk's prefetch thread tells the writer so).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from .errors import (
    BadCredentials,
    Forbidden,
    GitHubError,
    GraphQLFailed,
    NotFound,
    RateLimited,
    SecondaryRateLimited,
    ServerError,
    TransportFailed,
)
from .ratelimit import RateLimitState, is_secondary_limit_message, parse_retry_after

__all__ = ["USER_AGENT", "HTTPAnswer", "Transport", "raise_for_status", "when_sent"]

USER_AGENT = "prharvest"
DEFAULT_TIMEOUT = 60.0


_sent = threading.local()


@contextmanager
def when_sent(callback: Callable[[], None]) -> Iterator[None]:
    """Inside the block, call `callback` each time a request of this thread has been written
    and its answer is awaited (httpx's "trace" request extension,
    python-httpx.org/advanced/extensions/#trace)."""
    previous = getattr(_sent, "callback", None)
    _sent.callback = callback
    try:
        yield
    finally:
        _sent.callback = previous


def _tracer(callback: Callable[[], None]) -> Callable[[str, dict[str, Any]], None]:
    def trace(event: str, _info: dict[str, Any]) -> None:
        if event.endswith("receive_response_headers.started"):
            callback()

    return trace


@dataclass(slots=True)
class HTTPAnswer:
    """One HTTP answer: status, headers (case-insensitive), parsed JSON body (or None), text."""

    status: int
    headers: Mapping[str, str]
    body: Any
    text: str
    url: str
    elapsed: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Transport:
    """One persistent httpx client for one GitHub; `request()` sends one request."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = USER_AGENT,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": user_agent},
            # One connection kept alive: requests for one token are serial anyway.
            limits=httpx.Limits(max_keepalive_connections=4, max_connections=16),
            follow_redirects=True,
        )

    def url_for(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HTTPAnswer:
        """Send one request; return the answer whatever its status, or raise TransportFailed."""
        url = self.url_for(path)
        sent_headers = {"Authorization": f"bearer {token}"}
        if headers:
            sent_headers.update(headers)
        sent = getattr(_sent, "callback", None)
        extensions = {"trace": _tracer(sent)} if sent is not None else None
        try:
            response = self._http.request(
                method,
                url,
                json=json_body,
                params=params,
                headers=sent_headers,
                extensions=extensions,
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            failure = TransportFailed(
                f"GitHub API URL {self.base_url!r} is not an http(s) URL: fix GITHUB_API_URL"
            )
            failure.retryable = False  # no retry can fix a malformed URL
            raise failure from None
        except httpx.TimeoutException as exc:
            timeout = TransportFailed(
                f"GitHub did not answer within {self.timeout:g}s at {self._safe(url)}"
                f" ({type(exc).__name__})"
            )
            # Sent and not answered in time; a connection not even made says nothing of the query.
            timeout.timed_out = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise timeout from None
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise TransportFailed(
                f"GitHub unreachable at {self._safe(url)} ({type(exc).__name__})"
            ) from None
        body: Any = None
        text = ""
        if response.content:
            try:
                body = _loads(response.content)
            except ValueError:
                if 200 <= response.status_code < 300:
                    # A truncated body is a dropped connection in disguise.
                    raise TransportFailed(
                        f"GitHub sent an unreadable answer at {self._safe(url)}"
                    ) from None
        if body is None or not 200 <= response.status_code < 300:
            text = response.text  # read by the error messages only
        return HTTPAnswer(
            status=response.status_code,
            headers=response.headers,
            body=body,
            text=text,
            url=url,
            elapsed=response.elapsed.total_seconds() if response.is_closed else 0.0,
            # A redirect to another path (GitHub's 301 for a renamed or transferred repository):
            # the caller may ask GitHub for the new name. A scheme or host change is not one.
            extra={"redirected": True} if _moved(response) else {},
        )

    def _safe(self, url: str) -> str:
        return str(httpx.URL(url).copy_with(query=None))

    def close(self) -> None:
        self._http.close()


def _moved(response: httpx.Response) -> bool:
    """Whether httpx followed a redirect that changed the request's path."""
    if not response.history:
        return False
    return response.history[0].request.url.path != response.url.path


def raise_for_status(answer: HTTPAnswer, *, now: float, resource: str = "core") -> None:
    """Raise the error GitHub's status code means; return for 2xx and 304."""
    status = answer.status
    if status < 400 or status == 304:
        return
    message = _message(answer)
    if status == 401:
        raise BadCredentials()
    if status in (403, 429):
        limit = _limit_error(answer, message, now=now, resource=resource)
        if limit is not None:
            raise limit
        if status == 429:  # GitHub documents 429 only for limits
            raise SecondaryRateLimited(
                "GitHub answered 429 Too Many Requests",
                retry_after=0.0,
                resource=resource,
                hinted=False,
            )
        raise Forbidden(f"GitHub refused access (403: {message})" if message else "")
    if status == 404:
        raise NotFound(f"GitHub answered 404 for {answer.url}")
    if status in (400, 422):
        errors = _errors_from(answer.body) or [{"message": message or f"HTTP {status}"}]
        raise GraphQLFailed(
            errors, retryable=False, detail=f"GitHub rejected the request ({status})"
        )
    if status >= 500:
        raise ServerError(status, f"GitHub answered {status}")
    raise GitHubError(f"GitHub answered {status}: {message}")


def _limit_error(
    answer: HTTPAnswer, message: str, *, now: float, resource: str
) -> RateLimited | None:
    """403/429 that is a rate limit: secondary when GitHub says so, primary when remaining is 0."""
    headers = answer.headers
    retry_after = parse_retry_after(headers, now)
    state = RateLimitState.from_headers(headers, default_resource=resource)
    exhausted = state is not None and state.remaining == 0
    res = state.resource if state is not None else resource
    if is_secondary_limit_message(message) or (retry_after is not None and not exhausted):
        # docs.github.com: "If the retry-after response header is present, you should not retry
        # your request until after that many seconds has elapsed. Otherwise if remaining is 0,
        # wait until x-ratelimit-reset. Otherwise, wait for at least one minute."
        if retry_after is not None:
            return SecondaryRateLimited(
                "GitHub secondary rate limit hit", retry_after=retry_after, resource=res
            )
        if exhausted and state is not None:
            return SecondaryRateLimited(
                "GitHub secondary rate limit hit",
                retry_after=state.seconds_to_reset(now),
                reset_at=state.reset_at,
                resource=res,
            )
        return SecondaryRateLimited(
            "GitHub secondary rate limit hit", retry_after=0.0, resource=res, hinted=False
        )
    if exhausted and state is not None:
        return RateLimited(
            f"GitHub {res} rate limit exhausted",
            retry_after=retry_after if retry_after is not None else state.seconds_to_reset(now),
            reset_at=state.reset_at,
            resource=res,
        )
    if "rate limit" in message.lower():
        return SecondaryRateLimited(
            "GitHub rate limit hit",
            retry_after=retry_after or 0.0,
            resource=res,
            hinted=retry_after is not None,
        )
    return None


def _message(answer: HTTPAnswer) -> str:
    body = answer.body
    if isinstance(body, Mapping):
        msg = body.get("message")
        if isinstance(msg, str):
            return " ".join(msg.split())[:300]
        errors = _errors_from(body)
        if errors:
            return " ".join(str(errors[0].get("message", "")).split())[:300]
    return " ".join(answer.text.split())[:300] if answer.text else ""


def _errors_from(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, Mapping) and isinstance(body.get("errors"), list):
        return [e if isinstance(e, dict) else {"message": str(e)} for e in body["errors"]]
    return []


def _loads(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)
