"""Plain SQL for the few hot-path statements (casting a ballot, docs/performance-cast.md).

On PostgreSQL, :func:`hot_cursor` gives a psycopg cursor with server-side parameter binding on
Django's own connection (so inside Django's transactions), and every statement is prepared: the
server parses and plans it once per connection instead of once per ballot, and the ballot's
kilobytes travel as a parameter instead of being escaped into the query text. Elsewhere it is
Django's ordinary cursor. Errors are Django's (``IntegrityError``…), as with the ORM.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection


class HotCursor:
    __slots__ = ("_cursor", "_prepare")

    def __init__(self, cursor, *, prepare: bool) -> None:
        self._cursor = cursor
        self._prepare = prepare

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> HotCursor:
        if self._prepare:
            with connection.wrap_database_errors:
                self._cursor.execute(sql, params, prepare=True)
        else:
            self._cursor.execute(sql, params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> HotCursor:
        """One statement for many rows (psycopg sends them in one pipeline on PostgreSQL)."""
        with connection.wrap_database_errors:
            self._cursor.executemany(sql, rows)
        return self

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall()


@contextmanager
def hot_cursor() -> Iterator[HotCursor]:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield HotCursor(cursor, prepare=False)
        return
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield HotCursor(cursor, prepare=True)
