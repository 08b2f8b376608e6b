"""What the web pages and the REST API share: settings, the caller and its permissions,
errors, limits and audit events. Neither ``web`` nor ``api`` imports the other; both import
this package, and ``therabill.entrypoints.app`` puts them together.
"""
