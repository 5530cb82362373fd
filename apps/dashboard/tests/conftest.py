"""Fixtures for the dashboard tests: a logged-in user and a synthetic team."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.dashboard.synthetic import SyntheticTeam, create_synthetic_team


@pytest.fixture
def user(db: None) -> User:
    return User.objects.create_user("viewer", password="viewer-pass")


@pytest.fixture
def client_in(client: Client, user: User) -> Client:
    """Django's test client, logged in."""
    client.force_login(user)
    return client


@pytest.fixture
def acme(db: None) -> SyntheticTeam:
    """300 PRs over the last 12 weeks in three repositories, with reviews and sync state."""
    return create_synthetic_team("acme", 300, seed=7)
