"""The GitHub client shared by seeding and production sync (no Django imports below here).

The public names are re-exported lazily from their modules so `import apps.integrations.services`
stays cheap and never pulls in Django.
"""

from __future__ import annotations
