"""`track_repository OWNER/NAME [OWNER/NAME ...] --team SLUG`: add repositories to production sync."""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.metrics.models import Team, TrackedRepository

# GitHub: owner up to 39 chars of letters, digits and hyphens; repository names letters, digits,
# '.', '_' and '-' (".", ".." are not repositories).
_FULL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


class Command(BaseCommand):
    help = (
        "Track GitHub repositories for a team: the next sync round (Celery beat or "
        "`sync_repositories`) fetches them. The team must exist unless --create-team is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("repositories", nargs="+", metavar="OWNER/NAME")
        parser.add_argument("--team", required=True, metavar="SLUG", help="the team's slug")
        parser.add_argument(
            "--create-team", action="store_true", help="create the team when it does not exist"
        )
        parser.add_argument(
            "--inactive", action="store_true", help="track but do not sync (is_active off)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names: list[str] = [n.strip().removesuffix(".git") for n in options["repositories"]]
        bad = [n for n in names if not _FULL_NAME.match(n) or n.split("/")[1] in {".", ".."}]
        if bad:
            raise CommandError(f"not an OWNER/NAME repository name: {bad[0]!r}")
        slug: str = options["team"].strip()
        active = not options["inactive"]
        with transaction.atomic():
            team = Team.objects.filter(slug=slug).first()
            if team is None:
                if not options["create_team"]:
                    raise CommandError(
                        f"no team with slug {slug!r}: pass --create-team to create it"
                    )
                team = Team.objects.create(slug=slug, name=slug)
            created = 0
            for name in names:
                tracked = TrackedRepository.objects.filter(
                    team=team, full_name__iexact=name
                ).first()
                if tracked is None:
                    TrackedRepository.objects.create(team=team, full_name=name, is_active=active)
                    created += 1
                elif tracked.is_active != active:
                    tracked.is_active = active
                    tracked.save(update_fields=["is_active", "updated_at"])
        already = len(names) - created
        self.stdout.write(
            f"team {team.slug}: {created} repositor{'y' if created == 1 else 'ies'} now tracked"
            + (f", {already} already tracked" if already else "")
            + ("" if active else " (inactive)")
        )
