"""Django admin for every metrics model: lists, searches, filters; PR children as inlines.

Rows written by the writer (pull requests and their reviews, commits, files and check runs)
are GitHub's data, read-only everywhere but in apps/metrics/pipeline/writer.py: the admin shows them
and offers no add, change or delete (a change would be overwritten by the next sync, a delete
undone by it). Teams, members and sync state (TrackedRepository) stay editable.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from apps.metrics.models import (
    Commit,
    PRCheckRun,
    PRFile,
    PRReview,
    PRStatusContext,
    PRTimelineEvent,
    PullRequest,
    Team,
    TeamMember,
    TrackedRepository,
)


class _ReadOnlyAdmin(admin.ModelAdmin):
    """A model the writer owns: viewable, never added, changed or deleted from the admin."""

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.fields or ()


class PRReviewInline(_ReadOnlyInline):
    model = PRReview
    fields = ("github_review_id", "reviewer", "state", "submitted_at")


class CommitInline(_ReadOnlyInline):
    model = Commit
    fields = ("sha", "author", "author_name", "committed_at", "additions", "deletions")


class PRFileInline(_ReadOnlyInline):
    model = PRFile
    fields = ("filename", "status", "additions", "deletions", "changes")


class PRTimelineEventInline(_ReadOnlyInline):
    model = PRTimelineEvent
    fields = ("kind", "actor", "requested_reviewer_login", "created_at")


class PRCheckRunInline(_ReadOnlyInline):
    model = PRCheckRun
    fields = ("name", "status", "conclusion", "duration_seconds", "app_name", "completed_at")


class PRStatusContextInline(_ReadOnlyInline):
    model = PRStatusContext
    fields = ("context", "state", "description", "commit_sha", "created_at")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "created_at")
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(TeamMember)
class TeamMemberAdmin(admin.ModelAdmin):
    list_display = ("github_login", "display_name", "team", "github_id", "is_bot")
    list_filter = ("is_bot", "team")
    search_fields = ("github_login", "display_name", "email")
    list_select_related = ("team",)


@admin.register(PullRequest)
class PullRequestAdmin(_ReadOnlyAdmin):
    list_display = (
        "__str__",
        "title",
        "team",
        "state",
        "author",
        "size_bucket",
        "cycle_time_hours",
        "review_time_hours",
        "ci_passed",
        "pr_created_at",
        "merged_at",
    )
    list_filter = ("state", "is_draft", "size_bucket", "ci_passed", "is_bot_author", "team")
    search_fields = ("github_repo", "title", "author__github_login", "=github_pr_id")
    list_select_related = ("team", "author")
    raw_id_fields = ("author", "merged_by")
    date_hierarchy = "pr_created_at"
    readonly_fields = ("synced_at",)
    # GitHub URLs are https; also Django 6's default (silences its transition warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = (
        PRReviewInline,
        CommitInline,
        PRFileInline,
        PRCheckRunInline,
        PRTimelineEventInline,
        PRStatusContextInline,
    )


@admin.register(PRReview)
class PRReviewAdmin(_ReadOnlyAdmin):
    list_display = ("__str__", "pull_request", "reviewer", "state", "submitted_at")
    list_filter = ("state",)
    search_fields = ("reviewer__github_login", "pull_request__github_repo", "=github_review_id")
    list_select_related = ("pull_request", "reviewer")
    raw_id_fields = ("pull_request", "reviewer")


@admin.register(Commit)
class CommitAdmin(_ReadOnlyAdmin):
    list_display = ("sha", "pull_request", "author", "author_name", "committed_at")
    search_fields = ("sha", "author_name", "author_email", "message")
    list_select_related = ("pull_request", "author")
    raw_id_fields = ("pull_request", "author")


@admin.register(PRFile)
class PRFileAdmin(_ReadOnlyAdmin):
    list_display = ("filename", "pull_request", "status", "additions", "deletions", "changes")
    list_filter = ("status",)
    search_fields = ("filename", "pull_request__github_repo")
    list_select_related = ("pull_request",)
    raw_id_fields = ("pull_request",)


@admin.register(PRCheckRun)
class PRCheckRunAdmin(_ReadOnlyAdmin):
    list_display = ("__str__", "pull_request", "status", "duration_seconds", "app_name")
    list_filter = ("status", "conclusion", "app_name")
    search_fields = ("name", "pull_request__github_repo", "=github_check_run_id")
    list_select_related = ("pull_request",)
    raw_id_fields = ("pull_request",)


@admin.register(PRTimelineEvent)
class PRTimelineEventAdmin(admin.ModelAdmin):
    """Read-only: timeline events are GitHub's data, written by the writer only."""

    list_display = ("kind", "pull_request", "actor", "requested_reviewer_login", "created_at")
    list_filter = ("kind",)
    search_fields = ("pull_request__github_repo", "actor__github_login", "requested_reviewer_login")
    list_select_related = ("pull_request", "actor")

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(PRStatusContext)
class PRStatusContextAdmin(admin.ModelAdmin):
    list_display = ("context", "pull_request", "state", "commit_sha", "created_at")
    list_filter = ("state",)
    search_fields = ("context", "pull_request__github_repo", "commit_sha")
    list_select_related = ("pull_request",)
    raw_id_fields = ("pull_request",)


@admin.register(TrackedRepository)
class TrackedRepositoryAdmin(admin.ModelAdmin):
    list_display = (
        "full_name",
        "team",
        "is_active",
        "status",
        "last_synced_at",
        "watermark",
        "rate_limit_remaining",
        "next_sync_after",
    )
    list_filter = ("status", "is_active", "team")
    search_fields = ("full_name", "last_error")
    list_select_related = ("team",)
    readonly_fields = ("created_at", "updated_at")
