"""The session engine: Django's database sessions, with the read on every request done in plain
SQL.

Every API call of a voter (and every ballot) reads its session; the ORM's query building cost
several times the query itself (docs/performance-cast.md). Storage, expiry, cycling and writes
are Django's own (``django.contrib.sessions.backends.db``).
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        key = self.session_key
        if not key:
            self._session_key = None
            return None
        model = self.model
        connection = connections[router.db_for_read(model)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {connection.ops.quote_name(model._meta.db_table)}"  # noqa: S608
                " WHERE session_key = %s AND expire_date > %s",
                [key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return model(session_key=key, session_data=row[0])
