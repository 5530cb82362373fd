"""Pull requests and their children (reviews, commits, files, check runs), as GitHub reports them.

Every row has a natural key from GitHub, enforced by a unique constraint, so every write is an
idempotent upsert (see apps/metrics/pipeline/writer.py, the only code that writes these rows):

- PullRequest: (team, github_repo, github_pr_id), github_pr_id being the PR *number*.
- PRReview: (pull_request, github_review_id). Scoped to the PR rather than global so that two
  teams tracking the same repository each own their own rows, and so that "delete the reviews
  no longer on GitHub" is a per-PR operation like the other children.
- Commit: (pull_request, sha); PRFile: (pull_request, filename);
  PRCheckRun: (pull_request, github_check_run_id); PRStatusContext: (pull_request, context).
"""

from __future__ import annotations

from django.db import models

from apps.metrics.models.team import Team, TeamMember


class PullRequest(models.Model):
    """One pull request of one repository, for one team, with its per-PR metrics."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        CLOSED = "closed", "Closed"

    class SizeBucket(models.TextChoices):
        # Lines changed = additions + deletions. XS < 10 <= S < 50 <= M < 250 <= L < 1000 <= XL.
        XS = "XS", "XS (< 10 lines)"
        S = "S", "S (10-49 lines)"
        M = "M", "M (50-249 lines)"
        L = "L", "L (250-999 lines)"
        XL = "XL", "XL (>= 1000 lines)"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="pull_requests")
    github_repo = models.CharField(max_length=255, help_text='"owner/name"')
    github_pr_id = models.IntegerField(help_text="The PR number within its repository.")
    github_node_id = models.CharField(max_length=100, blank=True, default="")
    url = models.URLField(max_length=500, blank=True, default="")
    title = models.TextField(blank=True, default="")
    body = models.TextField(blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    is_draft = models.BooleanField(default=False)
    author = models.ForeignKey(
        TeamMember,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authored_pull_requests",
    )
    merged_by = models.ForeignKey(
        TeamMember,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_pull_requests",
    )
    pr_created_at = models.DateTimeField()
    pr_updated_at = models.DateTimeField()
    merged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    additions = models.IntegerField(default=0)
    deletions = models.IntegerField(default=0)
    changed_files = models.IntegerField(default=0)
    commits_count = models.IntegerField(default=0)
    comments_count = models.IntegerField(default=0)
    head_ref = models.CharField(max_length=255, blank=True, default="")
    base_ref = models.CharField(max_length=255, blank=True, default="")
    labels = models.JSONField(default=list, blank=True, help_text="Label names.")
    milestone_title = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 None: no milestone
    assignees = models.JSONField(default=list, blank=True, help_text="Assignee logins.")
    review_requests = models.JSONField(
        default=list, blank=True, help_text="Requested reviewers (logins or team slugs)."
    )
    linked_issues = models.JSONField(
        default=list, blank=True, help_text="Numbers of the issues this PR closes."
    )

    # Per-PR metrics, computed on write by apps/metrics/pr_metrics.py (definitions there).
    first_review_at = models.DateTimeField(null=True, blank=True)
    cycle_time_hours = models.FloatField(null=True, blank=True)
    review_time_hours = models.FloatField(null=True, blank=True)
    review_rounds = models.IntegerField(default=0)
    commits_after_first_review = models.IntegerField(default=0)
    ci_passed = models.BooleanField(null=True, blank=True)
    size_bucket = models.CharField(max_length=2, choices=SizeBucket.choices, default=SizeBucket.XS)
    is_bot_author = models.BooleanField(default=False)
    # False when GitHub listed fewer files / commits than the PR has: GitHub lists at most
    # 3,000 files of a PR (docs.github.com/rest/pulls/pulls#list-pull-requests-files) and REST
    # at most 250 commits (#list-commits-on-a-pull-request); the rows kept are then a prefix.
    files_complete = models.BooleanField(default=True)
    commits_complete = models.BooleanField(default=True)

    # The PR's life and its cycle-time stages (definitions in apps/metrics/pr_metrics.py and
    # docs/metrics.md). None = unknown (not collected, or the stage has not happened).
    ready_for_review_at = models.DateTimeField(null=True, blank=True)
    first_review_request_at = models.DateTimeField(null=True, blank=True)
    last_approval_at = models.DateTimeField(null=True, blank=True)
    time_to_first_review_hours = models.FloatField(null=True, blank=True)
    coding_time_hours = models.FloatField(null=True, blank=True)
    pickup_time_hours = models.FloatField(null=True, blank=True)
    merge_time_hours = models.FloatField(null=True, blank=True)
    force_pushes_after_first_review = models.IntegerField(null=True, blank=True)
    review_threads_count = models.IntegerField(null=True, blank=True)
    review_threads_resolved_count = models.IntegerField(null=True, blank=True)
    review_comments_count = models.IntegerField(null=True, blank=True)
    total_comments_count = models.IntegerField(null=True, blank=True)

    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pr_created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "github_repo", "github_pr_id"], name="metrics_pr_unique_number"
            ),
        ]
        indexes = [
            models.Index(fields=["team", "merged_at"], name="metrics_pr_team_merged"),
            models.Index(fields=["team", "pr_created_at"], name="metrics_pr_team_created"),
            models.Index(
                fields=["team", "github_repo", "pr_updated_at"], name="metrics_pr_team_repo_upd"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.github_repo}#{self.github_pr_id}"


class PRReview(models.Model):
    """One review submitted on a PR; unique (pull_request, github_review_id)."""

    class State(models.TextChoices):
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        COMMENTED = "commented", "Commented"
        DISMISSED = "dismissed", "Dismissed"
        PENDING = "pending", "Pending"

    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="reviews")
    github_review_id = models.BigIntegerField()
    reviewer = models.ForeignKey(
        TeamMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews"
    )
    state = models.CharField(max_length=20, choices=State.choices)
    body = models.TextField(blank=True, default="")
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pull_request_id", "submitted_at", "github_review_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "github_review_id"], name="metrics_review_unique_id"
            ),
        ]
        indexes = [
            models.Index(fields=["reviewer", "submitted_at"], name="metrics_review_reviewer"),
        ]

    def __str__(self) -> str:
        return f"review {self.github_review_id} ({self.state})"


class Commit(models.Model):
    """One commit of a PR; `author` is None when its email is linked to no GitHub account."""

    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="commits")
    sha = models.CharField(max_length=64)
    author = models.ForeignKey(
        TeamMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="commits"
    )
    author_name = models.CharField(max_length=255, blank=True, default="")
    author_email = models.CharField(max_length=255, blank=True, default="")
    message = models.TextField(blank=True, default="")
    authored_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    additions = models.IntegerField(default=0)
    deletions = models.IntegerField(default=0)

    class Meta:
        ordering = ["pull_request_id", "committed_at", "sha"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "sha"], name="metrics_commit_unique_sha"
            ),
        ]

    def __str__(self) -> str:
        return self.sha[:10]


class PRFile(models.Model):
    """One file changed by a PR; `changes` = additions + deletions."""

    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="files")
    filename = models.TextField()
    status = models.CharField(max_length=20, blank=True, default="")
    additions = models.IntegerField(default=0)
    deletions = models.IntegerField(default=0)
    changes = models.IntegerField(default=0)

    class Meta:
        ordering = ["pull_request_id", "filename"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "filename"], name="metrics_file_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.filename


class PRCheckRun(models.Model):
    """One CI check run of the PR's last commit."""

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="check_runs"
    )
    github_check_run_id = models.BigIntegerField()
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=20, blank=True, default="")
    conclusion = models.CharField(max_length=30, null=True, blank=True)  # noqa: DJ001 None: not completed
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.IntegerField(null=True, blank=True)
    app_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 None: unknown app

    class Meta:
        ordering = ["pull_request_id", "name", "github_check_run_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "github_check_run_id"], name="metrics_check_unique_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.conclusion or self.status}"


class PRTimelineEvent(models.Model):
    """One event of a PR's timeline that shapes its stages; unique (pull_request, github_id).

    Only the kinds below are collected (GitHub's PullRequestTimelineItemsItemType values of the
    same names); `github_id` is the event's GraphQL node id.
    """

    class Kind(models.TextChoices):
        READY_FOR_REVIEW = "ready_for_review", "Ready for review"
        CONVERT_TO_DRAFT = "convert_to_draft", "Converted to draft"
        REVIEW_REQUESTED = "review_requested", "Review requested"
        REVIEW_REQUEST_REMOVED = "review_request_removed", "Review request removed"
        HEAD_REF_FORCE_PUSHED = "head_ref_force_pushed", "Head ref force-pushed"

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="timeline_events"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        TeamMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_reviewer_login = models.CharField(
        max_length=255, blank=True, default="", help_text="User login or team slug requested."
    )
    created_at = models.DateTimeField()
    github_id = models.CharField(max_length=100)

    class Meta:
        ordering = ["pull_request_id", "created_at", "github_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "github_id"], name="metrics_timeline_unique_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class PRStatusContext(models.Model):
    """One commit status context of the PR's last commit (CircleCI, Jenkins, bots...).

    GitHub keeps the latest status per context of a commit (docs.github.com/rest/commits/
    statuses#get-the-combined-status-for-a-specific-reference), so a PR's rollup holds one per
    context: the row is keyed by (pull_request, context) and a new head commit updates it.
    """

    class State(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        ERROR = "error", "Error"
        PENDING = "pending", "Pending"
        EXPECTED = "expected", "Expected"

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="status_contexts"
    )
    context = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices)
    description = models.TextField(blank=True, default="")
    target_url = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(null=True, blank=True)
    commit_sha = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["pull_request_id", "context"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "context"], name="metrics_status_unique_context"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.context}: {self.state}"
