"""Opening the catalog database and bringing its schema up to date.

SQLite (the embedded default) runs in WAL mode; every write transaction starts
with ``BEGIN IMMEDIATE`` so concurrent writers queue on the database lock instead
of failing half-way. Any SQLAlchemy URL (e.g. PostgreSQL) can replace it: number
allocation then relies on ``SELECT … FOR UPDATE`` of the counter row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from filelock import FileLock
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from errors import ConfigError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 60_000


class Catalog:
    """Sessions on the catalog database: ``read()`` for queries, ``write()`` for changes."""

    def __init__(self, url: str, lock_path: Path | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._lock_path = lock_path
        self._write_engine = self._engine(immediate=True)
        self._read_engine = self._engine(immediate=False) if self.is_sqlite else self._write_engine
        self._unflushed_engine = self._engine(immediate=True, synchronous="NORMAL") if self.is_sqlite else self._write_engine
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)
        self._unflushed_writer = sessionmaker(self._unflushed_engine, expire_on_commit=False)
        self._reader = sessionmaker(self._read_engine, expire_on_commit=False)

    def _engine(self, *, immediate: bool, synchronous: str = "FULL") -> Engine:
        try:
            engine = create_engine(self.url)
        except (SQLAlchemyError, ValueError) as exc:
            raise ConfigError(f"invalid catalog URL: {type(exc).__name__}") from None
        if self.is_sqlite:
            begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
                dbapi_connection.isolation_level = None
                cursor = dbapi_connection.cursor()
                cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA synchronous={synchronous}")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
                connection.exec_driver_sql(begin)

        return engine

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that holds the write lock from its start; committed on success."""
        with self._writer.begin() as session:
            yield session

    @contextmanager
    def write_unflushed(self) -> Iterator[Session]:
        """A write transaction that survives a crash of the process but maybe not of the machine.

        On SQLite its commit is not flushed to disk at once (``synchronous=NORMAL`` in WAL
        mode); the next ``write()`` makes it durable too. Use it only where losing the
        transaction to a power failure loses nothing a user was told had happened.
        Other databases treat it as ``write()``.
        """
        with self._unflushed_writer.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A SQLAlchemy Core connection for a read of one or two statements, without an ORM session.

        For lookups on the path of every request (e.g. a bearer token): a session costs more
        to set up and tear down than such a query takes to run. Rolled back on exit.
        """
        with self._read_engine.connect() as connection:
            yield connection

    def migrate(self) -> None:
        """Bring the schema to the newest migration (no-op when it is current)."""
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        head = ScriptDirectory.from_config(config).get_current_head()
        if self.revision() == head:
            return
        lock = FileLock(str(self._lock_path)) if self._lock_path else nullcontext()
        with lock:
            if self.revision() == head:
                return
            with self._write_engine.connect() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()

    def revision(self) -> str | None:
        try:
            with self._read_engine.connect() as connection:
                if not inspect(connection).has_table("alembic_version"):
                    return None
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as exc:
            raise ConfigError(f"cannot open the catalog: {exc.orig}") from None

    def dispose(self) -> None:
        self._write_engine.dispose()
        self._read_engine.dispose()
        self._unflushed_engine.dispose()
