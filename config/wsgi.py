"""WSGI entry point: refuses to serve with the public development key while DEBUG is off."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402 - after the app is set up

from config.errors import insecure_server_reason  # noqa: E402

_reason = insecure_server_reason(settings)
if _reason:
    raise ImproperlyConfigured(_reason)
