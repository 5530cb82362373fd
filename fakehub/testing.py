"""pytest fixtures for fakehub (placeholder until the server lands)."""
