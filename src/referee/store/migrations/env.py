"""Alembic environment: always driven programmatically by `referee.store.migrate` with a live connection.

Running `alembic` by hand also works: pass `-x url=...` or set REFEREE_DATABASE_URL.
"""

from __future__ import annotations

from alembic import context

from referee.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from referee.store.db import create_db_engine

    url = context.get_x_argument(as_dictionary=True).get("url")
    engine = create_db_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
