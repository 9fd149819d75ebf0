"""Fixed-window rate limits shared by every web worker (they live in the database)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from identity.errors import RateLimited
from identity.models import RateLimitBucket

#: an IPv6 subscriber usually holds a whole /64: counted address by address, it would never run
#: out of fresh ones
IPV6_CLIENT_PREFIX = 64


def ratelimit_client(address: str) -> str | None:
    """The address a rate limit (or the officials' lockout) counts a client by: an IPv4 address
    as it is (also when written IPv4-mapped, ``::ffff:192.0.2.1``), an IPv6 address as the first
    address of its /64 (``2001:db8:1:2::``); ``None`` when ``address`` is not an IP address."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False).network_address)
    return str(ip)


def ratelimit_key(*, scope: str, ident: str) -> str:
    """``scope:<keyed hash of ident>``: client addresses are not stored in clear."""
    return f"{scope}:{salted_hmac('pnyx.ratelimit', ident, algorithm='sha256').hexdigest()[:40]}"


def ratelimit_hit(*, scope: str, ident: str, limit: int, window_seconds: int = 3600) -> None:
    """Count one request of ``ident`` in ``scope``; raise :class:`RateLimited` past ``limit`` in
    the current window.

    The first request of a key in a new window also deletes the buckets of windows that ended
    more than a day ago: the work a request does depends only on its scope, ident and the clock,
    never on anything else (the voter login relies on that, identity/services/login.py)."""
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
    if count == 1:
        RateLimitBucket.objects.filter(window_start__lt=now - timedelta(days=1)).delete()
    if count > limit:
        raise RateLimited()
