"""The REST API under ``/api/v1``: its routes and public schemas (the app factory is in ``http``)."""
