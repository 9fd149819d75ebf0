"""Fixed-window rate limits shared by every web worker (they live in the database)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from identity.errors import RateLimited
from identity.models import RateLimitBucket


def ratelimit_key(*, scope: str, ident: str) -> str:
    """``scope:<keyed hash of ident>``: client addresses are not stored in clear."""
    return f"{scope}:{salted_hmac('pnyx.ratelimit', ident, algorithm='sha256').hexdigest()[:40]}"


def ratelimit_hit(*, scope: str, ident: str, limit: int, window_seconds: int = 3600) -> None:
    """Count one request of ``ident`` in ``scope``; raise :class:`RateLimited` past ``limit`` in
    the current window."""
    now = timezone.now()
    start = int(now.timestamp()) // window_seconds * window_seconds
    window_start = now.fromtimestamp(start, tz=now.tzinfo)
    key = f"{ratelimit_key(scope=scope, ident=ident)}:{start}"
    quote = connection.ops.quote_name
    table, k, w, n = (
        quote(name) for name in (RateLimitBucket._meta.db_table, "key", "window_start", "count")
    )
    with connection.cursor() as cursor:
        # One atomic statement (an upsert): concurrent workers never lose a count.
        cursor.execute(
            f"INSERT INTO {table} ({k}, {w}, {n}) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT ({k}) DO UPDATE SET {n} = {table}.{n} + 1 RETURNING {n}",
            [key, window_start],
        )
        (count,) = cursor.fetchone()
    if secrets.randbelow(200) == 0:
        RateLimitBucket.objects.filter(window_start__lt=now - timedelta(days=1)).delete()
    if count > limit:
        raise RateLimited()
