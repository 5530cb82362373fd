"""Sync state: one row per (team, repository), shared by seeding and production sync.

See docs/ARCHITECTURE.md "Sync state" for the checkpoint JSON and how walks resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from apps.integrations.github.queries import PAGE_SIZE
from apps.metrics.models.team import Team


class TrackedRepositoryQuerySet(models.QuerySet["TrackedRepository"]):
    """`TrackedRepository.objects`: the queryset, plus sync-state writes to many rows."""

    def record_sync(self, **state: Any) -> int:
        """Write sync-state fields to every row of this queryset in one UPDATE; return how many.

        For state of many repositories at once (a round closing its unchanged ones, beat
        claiming the due ones) and for conditional writes (a lock taken only if free). Exactly
        the fields given are written: `updated_at` too only when given, as it is the database
        lock's heartbeat.
        """
        TrackedRepository.check_sync_fields(state)
        return self.update(**state)


class TrackedRepository(models.Model):
    """A repository a team syncs, with where its last walk stopped and what GitHub last said.

    `checkpoint` is `{"mode": "full" | "incremental", "cursor": str | None, "page_size": int,
    "high_water": ISO8601 | None, "started_at": ISO8601, "prs_done": int}` while a walk is open,
    None otherwise; it is written in the same transaction as the page of rows it follows.
    `watermark` (the newest `updatedAt` fully synced) moves only when a walk completes.
    """

    class Status(models.TextChoices):
        IDLE = "idle", "Idle"
        RUNNING = "running", "Running"
        RATE_LIMITED = "rate_limited", "Rate limited"
        FAILED = "failed", "Failed"
        OK = "ok", "OK"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tracked_repositories")
    full_name = models.CharField(max_length=255, help_text='"owner/name"')
    is_active = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IDLE)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    watermark = models.DateTimeField(null=True, blank=True)
    checkpoint = models.JSONField(null=True, blank=True)
    etag = models.CharField(max_length=255, blank=True, default="")
    pushed_at = models.DateTimeField(null=True, blank=True)
    page_size = models.PositiveIntegerField(default=PAGE_SIZE)
    # What the stored rows were fetched with (max_prs, days_back, check-runs mode): a seed with
    # other options walks again in full instead of trusting an unchanged ETag.
    seed_options = models.JSONField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    # Who set `status` to running: "<host> <pid> <start>" (integrations/github/lock_holder.py),
    # so a sync or seed that died is taken over at once instead of after REPO_LOCK_TTL_SECONDS.
    sync_holder = models.CharField(max_length=255, blank=True, default="")
    # PR fields GitHub refuses this token (FORBIDDEN / INSUFFICIENT_SCOPES on the field, e.g.
    # "statusCheckRollup" without Checks: read): stored as unknown, warned about once.
    unavailable_fields = models.JSONField(default=list, blank=True)
    next_sync_after = models.DateTimeField(null=True, blank=True)
    rate_limit_remaining = models.IntegerField(null=True, blank=True)
    rate_limit_reset_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TrackedRepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["team_id", "full_name"]
        verbose_name_plural = "tracked repositories"
        constraints = [
            models.UniqueConstraint(
                fields=["team", "full_name"], name="metrics_tracked_unique_repo"
            ),
        ]
        indexes = [
            models.Index(fields=["is_active", "next_sync_after"], name="metrics_tracked_due"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @classmethod
    def check_sync_fields(cls, state: Mapping[str, Any]) -> None:
        """TypeError naming the keys of `state` that are not fields a sync may write."""
        # A misspelt name would fail as FieldError deep in a page's transaction; name it first.
        allowed = {f.name for f in cls._meta.concrete_fields} - {"id", "team"}
        unknown = sorted(set(state) - allowed)
        if unknown:
            raise TypeError(f"not TrackedRepository fields: {', '.join(unknown)}")

    def record_sync(self, **state: Any) -> None:
        """Write sync-state fields (status, checkpoint, watermark, errors, budget, schedule ...)
        to this repository's row in one UPDATE, and to this instance once it succeeded.

        Every sync-state change of seeding and sync goes through here (or through the
        queryset's `record_sync` for many rows), inside the caller's transaction when it has one.
        """
        TrackedRepository.objects.filter(pk=self.pk).record_sync(**state)
        for name, value in state.items():
            setattr(self, name, value)
