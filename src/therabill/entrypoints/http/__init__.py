"""What the web pages and the REST API share: the app factory, settings, the caller and its
permissions, errors, limits and audit events. Neither ``web`` nor ``api`` imports the other;
both import this package.
"""

from therabill.entrypoints.http.app import create_app
from therabill.entrypoints.http.settings import Settings

__all__ = ["Settings", "create_app"]
