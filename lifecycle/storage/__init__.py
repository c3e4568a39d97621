"""Storage: the Store protocol, an in-memory fake and the SQLAlchemy store with Alembic migrations."""
