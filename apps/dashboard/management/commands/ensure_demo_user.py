"""Create (or reset) the dashboard's demo login: user "demo", password "demo".

For local demos only (`make demo` runs it): never run this on a database reachable by others,
since anyone who reads the README can log in.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 a documented demo-only credential


class Command(BaseCommand):
    help = 'Create or reset the demo-only dashboard user "demo" with password "demo".'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--quiet", action="store_true", help="Print nothing (for scripts that print their own)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user, created = user_model.objects.get_or_create(username=DEMO_USERNAME)
            # Reset every time: a demo login that silently stopped working is worse than none.
            user.set_password(DEMO_PASSWORD)
            user.is_active = True
            user.save()
        except DatabaseError as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CommandError(
                f"database error ({first_line}); is it reachable and migrated (manage.py migrate)?"
            ) from None
        if not options["quiet"]:
            verb = "created" if created else "reset"
            self.stdout.write(
                f'demo user {verb}: log in as "{DEMO_USERNAME}" / "{DEMO_PASSWORD}" (demo only)'
            )
