"""Storage: SQLAlchemy models, repositories, Alembic migrations, the audit trail, CSV imports.

- storage.db: make_engine, session_factory, ping, upgrade / async_upgrade
- storage.models: the tables (enum columns hold the enum's string value)
- storage.repositories: the only way callers read and write; never commits
- storage.imports: import_staff, import_cases (idempotent, row-level rejections)
- storage.demo: load_demo for `auditbot demo`
"""
