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

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
