"""The readers' map name (SPEC.md) of the GitHub client package, now `apps.integrations.github`."""
