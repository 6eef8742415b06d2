"""Alembic migrations of the history database (run by `jobgate db upgrade`)."""
