"""Database adapter: SQLAlchemy 2 tables, engine setup, repositories, Alembic migrations."""
