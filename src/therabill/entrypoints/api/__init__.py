"""The web app and REST API (FastAPI): ``create_app(settings)``."""

from therabill.entrypoints.api.app import create_app
from therabill.entrypoints.api.settings import Settings

__all__ = ["Settings", "create_app"]
