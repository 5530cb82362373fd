"""POST /webhooks/github/: signature checks, event routing, nothing changed on a refusal.

Celery is eager here (no broker in the test settings), so a verified PR event marks the tracked
repository due; the broker path (a debounced task on Redis, run by a real worker) is covered by
apps/metrics/tests/test_celery_workers.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.metrics.models import Team, TrackedRepository

SECRET = "webhook-secret-for-tests-7f3a"
URL = "/webhooks/github/"

pytestmark = pytest.mark.django_db


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    client: Client, event: str, payload: dict, *, signature: str | None = "good"
) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": "d-1"}
    if signature == "good":
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign(body)
    elif signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    response = client.post(URL, data=body, content_type="application/json", **headers)
    data = response.json() if response.content else {}
    return response.status_code, data


@pytest.fixture
def tracked(settings) -> TrackedRepository:
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    team = Team.objects.create(name="Acme", slug="acme")
    later = timezone.now() + timedelta(hours=1)
    return TrackedRepository.objects.create(
        team=team, full_name="acme/rocket", next_sync_after=later
    )


def pr_event(full_name: str = "acme/rocket") -> dict:
    return {"action": "synchronize", "number": 7, "repository": {"full_name": full_name}}


@pytest.mark.parametrize(
    "event", ["pull_request", "pull_request_review", "check_run", "check_suite"]
)
def test_a_signed_pr_event_asks_for_a_sync_of_the_tracked_repository(client, tracked, event):
    status, data = deliver(client, event, pr_event())
    assert status == 202
    assert data["queued"] == 1
    tracked.refresh_from_db()
    assert tracked.next_sync_after <= timezone.now()


def test_repository_names_match_whatever_their_case(client, tracked):
    status, data = deliver(client, "pull_request", pr_event("Acme/Rocket"))
    assert (status, data["queued"]) == (202, 1)


def test_a_forged_signature_is_refused_and_changes_nothing(client, tracked):
    before = TrackedRepository.objects.get(pk=tracked.pk).next_sync_after
    status, _ = deliver(client, "pull_request", pr_event(), signature=sign(b"{}", "guessed"))
    assert status == 401
    assert TrackedRepository.objects.get(pk=tracked.pk).next_sync_after == before


def test_a_body_changed_after_signing_is_refused(client, tracked):
    body = json.dumps(pr_event()).encode()
    signature = sign(body)
    response = client.post(
        URL,
        data=body.replace(b"synchronize", b"opened"),
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="pull_request",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )
    assert response.status_code == 401


@pytest.mark.parametrize("signature", [None, "", "sha1=abc", "sha256=", "sha256=zz"])
def test_a_missing_or_malformed_signature_is_refused(client, tracked, signature):
    status, _ = deliver(client, "pull_request", pr_event(), signature=signature)
    assert status == 401
    tracked.refresh_from_db()
    assert tracked.next_sync_after > timezone.now()


def test_without_a_configured_secret_every_delivery_is_refused(client, tracked, settings):
    settings.GITHUB_WEBHOOK_SECRET = ""
    body = json.dumps(pr_event()).encode()
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="pull_request",
        HTTP_X_HUB_SIGNATURE_256=sign(body, ""),
    )
    assert response.status_code == 401
    tracked.refresh_from_db()
    assert tracked.next_sync_after > timezone.now()


def test_a_signed_ping_is_answered(client, tracked):
    status, data = deliver(client, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert (status, data["event"]) == (200, "ping")


def test_other_events_are_ignored(client, tracked):
    status, _ = deliver(client, "issues", {"repository": {"full_name": "acme/rocket"}})
    assert status == 204
    tracked.refresh_from_db()
    assert tracked.next_sync_after > timezone.now()


def test_events_of_untracked_or_inactive_repositories_queue_nothing(client, tracked):
    TrackedRepository.objects.filter(pk=tracked.pk).update(is_active=False)
    assert deliver(client, "pull_request", pr_event())[1]["queued"] == 0
    assert deliver(client, "pull_request", pr_event("someone/else"))[1]["queued"] == 0


def test_a_signed_payload_without_a_repository_is_a_bad_request(client, tracked):
    status, _ = deliver(client, "pull_request", {"action": "opened"})
    assert status == 400


def test_only_post_is_allowed(client, tracked):
    assert client.get(URL).status_code == 405


def test_the_secret_and_signatures_never_reach_the_logs(client, tracked, caplog):
    caplog.set_level(logging.DEBUG)
    deliver(client, "pull_request", pr_event(), signature=sign(b"x", "guessed"))
    deliver(client, "pull_request", pr_event())
    assert caplog.records, "the refusal is logged"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert SECRET not in logged
    assert sign(json.dumps(pr_event()).encode()) not in logged


@pytest.mark.parametrize(
    "name", ["acme/rock\x00et", "acme\x00/rocket", "a" * 5000 + "/b", "../../etc/passwd", "acme/"]
)
def test_a_signed_event_naming_no_possible_repository_is_a_bad_request_not_a_500(
    client, tracked, name
):
    status, data = deliver(client, "pull_request", pr_event(name))
    assert (status, data) == (400, {"error": "repository.full_name is not OWNER/NAME"})
    tracked.refresh_from_db()
    assert tracked.next_sync_after > timezone.now()  # nothing was asked of any repository
