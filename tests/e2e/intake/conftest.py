"""The web engineer's world (two practices, every role) for the intake API and page tests."""

from tests.e2e.api.conftest import app, client, tokens, world

__all__ = ["app", "client", "tokens", "world"]
