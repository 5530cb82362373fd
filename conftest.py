"""Project-wide pytest set-up: fakehub's fixtures (a real server on a free port) for every test."""

pytest_plugins = ["fakehub.testing"]
