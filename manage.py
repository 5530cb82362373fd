#!/usr/bin/env python
"""Django's command-line utility for prharvest."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings: a bad variable fails here
    except ImproperlyConfigured as exc:
        # One line naming the variable, never a traceback (config/env.py words it).
        sys.stderr.write(f"configuration error: {exc}\n")
        sys.exit(2)

    from config.errors import insecure_server_reason, one_line

    if len(sys.argv) > 1 and sys.argv[1] == "runserver":
        reason = insecure_server_reason(settings)
        if reason:
            sys.stderr.write(f"{reason}\n")
            sys.exit(2)

    try:
        execute_from_command_line(sys.argv)
    except Exception as exc:
        # The database, Redis or the broker down, a setting read late: one line and a non-zero
        # exit for every command (--traceback still shows the whole story).
        line = one_line(exc)
        if line is None or "--traceback" in sys.argv:
            raise
        command = sys.argv[1] if len(sys.argv) > 1 else "manage.py"
        sys.stderr.write(f"{command}: {line}\n")
        sys.exit(2 if line.startswith("configuration error") else 1)


if __name__ == "__main__":
    main()
