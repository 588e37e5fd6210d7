"""Stores to test: memory, a SQLite file, and a real PostgreSQL started for the session.

The ``postgres_dsn`` fixture starts one throwaway cluster for the whole session (only when
a test asks for it); each test then gets its own PostgreSQL schema, so tests never see each
other's rows. Without PostgreSQL the PostgreSQL tests skip with the reason, and under CI
(``CI=true``) a skip fails the run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from order_lifecycle.store import MemoryStore, Store, migrate, open_store
from tests.pgcluster import ClusterUnavailable, throwaway_cluster

BACKENDS = ("memory", "sqlite", "postgres")
REAL_BACKENDS = ("sqlite", "postgres")

_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A DSN of a throwaway PostgreSQL cluster, started once for the session."""
    try:
        with throwaway_cluster() as dsn:
            yield dsn
    except ClusterUnavailable as error:
        pytest.skip(f"no PostgreSQL server could be started: {error}")


def new_postgres_schema(dsn: str, *, tables: bool = True) -> str:
    """A DSN whose tables go to a new schema of the cluster at ``dsn``.

    The store's tables are made there, as ``order-lifecycle migrate`` makes them before an
    application opens its store; ``tables=False`` leaves the schema empty.
    """
    schema = f"test_{next(_schemas)}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    url = f"{dsn}?options={quote(f'-csearch_path={schema}')}"
    if tables:
        migrate(url)
    return url


UrlMaker = Callable[[], str]


def _url_maker(request: pytest.FixtureRequest, tmp_path: Path, *, tables: bool) -> UrlMaker:
    backend: str = request.param
    if backend == "sqlite":
        counter = itertools.count(1)
        return lambda: str(tmp_path / f"store-{next(counter)}.db")
    if backend == "postgres":
        dsn: str = request.getfixturevalue("postgres_dsn")
        return lambda: new_postgres_schema(dsn, tables=tables)
    raise AssertionError(backend)


@pytest.fixture
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> UrlMaker:
    """Makes URLs of new, empty stores of the backend the test is parametrized with."""
    return _url_maker(request, tmp_path, tables=True)


@pytest.fixture
def no_tables_url(request: pytest.FixtureRequest, tmp_path: Path) -> UrlMaker:
    """Makes URLs of new databases without a store's tables (SQLite: no file yet)."""
    return _url_maker(request, tmp_path, tables=False)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new, empty store of each kind."""
    backend: str = request.param
    if backend == "memory":
        made: Store = MemoryStore()
    elif backend == "sqlite":
        made = open_store(tmp_path / "store.db")
    else:
        made = open_store(new_postgres_schema(request.getfixturevalue("postgres_dsn")))
    with made:
        yield made
