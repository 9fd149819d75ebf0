"""PostgreSQL only: the append-only tables (board entries, cast ballots, audited alphas) also
refuse TRUNCATE.

The row-level rules of 0002 (``BEFORE UPDATE OR DELETE``) do not fire for ``TRUNCATE``, which
empties a table without deleting its rows one by one; a statement-level ``BEFORE TRUNCATE``
trigger with the same function (``pnyx_append_only``, which raises for any ``TG_OP``) closes that
gap, including a ``TRUNCATE … CASCADE`` from a table that references them. A database superuser
can still drop the triggers: they guard against mistakes and the application's own role, not
against whoever owns the database (docs/threat-model.md)."""

from django.db import migrations

TABLES = ("voting_boardentry", "voting_ballot", "voting_auditedalpha")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pnyx_append_only()"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")


class Migration(migrations.Migration):
    dependencies = [("voting", "0006_append_ballot_binding")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
