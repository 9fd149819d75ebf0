"""Seal the TOTP devices django-otp's otp_totp plugin kept in clear, then drop its table.

Each row of ``otp_totp_totpdevice`` becomes an officials.AuthenticatorDevice with the same owner,
name, state (drift, last_t, throttling) and timestamps, its seed sealed (officials/seal.py);
then the clear table is emptied and dropped, and otp_totp's migration records are removed, so
the database looks as if the plugin (no longer in INSTALLED_APPS) had never been installed.
A database that never had the plugin has nothing to do. Not reversible into clear seeds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import migrations

from officials.seal import seal_key_id, seal_key_load, seed_seal

LEGACY_TABLE = "otp_totp_totpdevice"
#: copied as they are (otp_totp 0001–0003); the key is sealed, never copied
COPIED = (
    "user_id",
    "name",
    "confirmed",
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
)


def _aware(value):
    """A raw query on SQLite gives naive datetimes; Django stored them in UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def clear_totp_devices_seal(apps, schema_editor) -> int:
    """Seal every clear TOTP device; returns how many were sealed."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if LEGACY_TABLE not in connection.introspection.table_names(cursor):
            return 0
        present = {c.name for c in connection.introspection.get_table_description(cursor, LEGACY_TABLE)}
        columns = ["id", "key", *(c for c in COPIED if c in present)]
        quote = connection.ops.quote_name
        cursor.execute(
            f"SELECT {', '.join(map(quote, columns))} FROM {quote(LEGACY_TABLE)} ORDER BY {quote('id')}"
        )
        rows = [dict(zip(columns, map(_aware, row))) for row in cursor.fetchall()]

    device_model = apps.get_model("officials", "AuthenticatorDevice")
    key = seal_key_load(create=True) if rows else b""
    for row in rows:
        try:
            seed = bytes.fromhex(row["key"])
        except (TypeError, ValueError):
            seed = b""
        if not seed:
            raise ValueError(f"otp_totp device {row['id']}: its key is not a hex seed")
        fields = {name: row[name] for name in COPIED if name in row}
        created_at = fields.pop("created_at", None)
        device = device_model.objects.create(**fields, sealed_seed=b"", seal_key_id="")
        device_model.objects.filter(pk=device.pk).update(
            sealed_seed=seed_seal(seed, key=key, device_id=device.pk),
            seal_key_id=seal_key_id(key),
            created_at=created_at,  # auto_now_add set it to now
        )

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(LEGACY_TABLE)}")
        cursor.execute(f"DROP TABLE {quote(LEGACY_TABLE)}")
        cursor.execute(f"DELETE FROM {quote('django_migrations')} WHERE app = %s", ["otp_totp"])
    return len(rows)


def _seal(apps, schema_editor) -> None:
    clear_totp_devices_seal(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("officials", "0001_authenticator_device")]

    operations = [migrations.RunPython(_seal, migrations.RunPython.noop)]
