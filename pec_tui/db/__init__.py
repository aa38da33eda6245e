"""Persistence: SQLModel tables, engine/session set-up and Alembic migrations."""
