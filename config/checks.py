"""`manage.py check --deploy` additions: what Django's own deploy checks cannot know."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from config.env import DEV_SECRET_KEY


@register(Tags.security, deploy=True)
def public_development_key(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The built-in SECRET_KEY is in this repository: anyone can forge sessions signed with it."""
    if settings.SECRET_KEY == DEV_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is the public development key of this repository.",
                hint="Set DJANGO_SECRET_KEY to a long random value (README: Production settings).",
                id="prharvest.E001",
            )
        ]
    return []
