"""Alembic migrations of the projectone schema (package data; run via ``migrate.py``)."""
