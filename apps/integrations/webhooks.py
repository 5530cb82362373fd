"""`POST /webhooks/github/`: GitHub's PR events turn into a debounced sync of the repository.

docs.github.com: webhooks/using-webhooks/validating-webhook-deliveries. GitHub signs the raw body
with the webhook secret (HMAC-SHA256, header `X-Hub-Signature-256: sha256=<hex>`). A delivery
without a valid signature, or any delivery while no secret is configured, gets 401 and changes
nothing. The payload is only a hint that something changed: the sync fetches the truth itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# GitHub: an owner is letters, digits and hyphens (up to 39), a repository name letters, digits,
# ".", "_" and "-" (up to 100).
_FULL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
# What the broker, Redis or the database being down raises while a sync is queued.
_UNAVAILABLE = (KombuOperationalError, RedisError, DatabaseError, OSError)
# The Retry-After of a 503 (RFC 9110 section 10.2.3: seconds).
RETRY_AFTER_SECONDS = 60

# Events that can change a PR row or its CI (docs.github.com: webhooks/webhook-events-and-payloads).
SYNC_EVENTS = frozenset({"pull_request", "pull_request_review", "check_run", "check_suite"})


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is `sha256=` + HMAC-SHA256(secret, body), compared in constant time."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.removeprefix("sha256=").encode())


@csrf_exempt
@require_POST
def github_webhook(request: HttpRequest) -> HttpResponse:
    """Verify the delivery, then enqueue a debounced sync for PR events of tracked repositories."""
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"error": "payload too large"}, status=413)
    secret = settings.GITHUB_WEBHOOK_SECRET
    if not signature_is_valid(secret, body, request.headers.get("X-Hub-Signature-256")):
        # Never log the secret or the expected signature: only that this delivery was refused.
        logger.warning(
            "webhook refused: %s (delivery %s)",
            "no GITHUB_WEBHOOK_SECRET configured" if not secret else "bad or missing signature",
            request.headers.get("X-GitHub-Delivery", "?"),
        )
        return JsonResponse({"error": "invalid signature"}, status=401)

    event = request.headers.get("X-GitHub-Event", "")
    if event == "ping":
        return JsonResponse({"ok": True, "event": "ping"})
    if event not in SYNC_EVENTS:
        return HttpResponse(status=204)
    try:
        payload = json.loads(body)
        full_name = str(payload["repository"]["full_name"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "payload without repository.full_name"}, status=400)
    if not _FULL_NAME.fullmatch(full_name):
        # Signed, but not a name GitHub gives a repository (a NUL, a path, 10 kB of text):
        # nothing of ours can be named that, and it never reaches a query.
        return JsonResponse({"error": "repository.full_name is not OWNER/NAME"}, status=400)

    # Imported here: the metrics app's tasks pull in the client and the writer.
    from apps.metrics.tasks import request_sync_for_repository

    try:
        queued = request_sync_for_repository(full_name)
    except _UNAVAILABLE as exc:
        # GitHub redelivers on request; the sync round (beat) catches up meanwhile anyway.
        logger.warning("webhook: sync of %s not queued: %s", full_name, type(exc).__name__)
        response = JsonResponse({"error": "the sync queue is unavailable, retry later"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"event": event, "repository": full_name, "queued": queued}, status=202)
