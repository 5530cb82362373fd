"""Teams and the GitHub accounts that appear on their pull requests."""

from __future__ import annotations

from django.db import models


class Team(models.Model):
    """A customer (or a seeded demo project): owns its members, PRs and tracked repositories."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class TeamMember(models.Model):
    """A GitHub account seen on a team's PRs, created on the fly by the writer.

    Identified by (team, github_login): GitHub's deleted-user placeholder is the member with login
    "ghost" (github_id None); bots keep their "[bot]" suffix and have `is_bot` set.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    github_login = models.CharField(max_length=255)
    github_id = models.BigIntegerField(null=True, blank=True)
    display_name = models.CharField(max_length=255, blank=True, default="")
    email = models.CharField(max_length=255, blank=True, default="")
    is_bot = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team_id", "github_login"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "github_login"], name="metrics_member_unique_login"
            ),
        ]

    def __str__(self) -> str:
        return self.github_login
