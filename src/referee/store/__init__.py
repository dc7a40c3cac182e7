"""Persistence for the audit service: models, migrations, the audit queue and the repository functions.

`Store(url)` wraps the engine (REFEREE_DATABASE_URL, else a SQLite file in the user's data dir); `Store.migrate()`
brings the schema to the newest revision. Import the functions from `referee.store.repository` and
`referee.store.queue`.
"""

from referee.store.db import Store, database_url, default_database_url, redact

__all__ = ["Store", "database_url", "default_database_url", "redact"]
